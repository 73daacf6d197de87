"""The layering rules of DESIGN.md, checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "waterline"

# package -> project packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "sip": set(),
    "rtp": set(),
    "calls": {"sip", "rtp"},
    "domain": set(),
    "services": {"domain", "calls"},
    "analytics": {"domain"},
}
# packages whose modules must not do I/O or read the clock themselves
PURE = {"sip", "rtp", "calls", "domain"}
IO_MODULES = {"asyncio", "socket", "selectors", "subprocess", "threading", "sqlalchemy", "fastapi", "httpx"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = path.relative_to(SRC).parts[: -node.level]
                names.append(".".join(("waterline", *base, *(node.module or "").split("."))).rstrip("."))
            elif node.module:
                names.append(node.module)
    return names


def _modules() -> list[tuple[str, Path]]:
    paths = sorted(SRC.rglob("*.py"))
    return [(p.relative_to(SRC).parts[0], p) for p in paths if len(p.relative_to(SRC).parts) > 1]


@pytest.mark.parametrize(("package", "path"), _modules(), ids=lambda v: str(v))
def test_module_respects_layering(package: str, path: Path) -> None:
    if package not in ALLOWED:
        return
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "waterline" and len(parts) > 1:
            assert parts[1] in ALLOWED[package] | {package}, f"{path}: {package} may not import {name}"
        if package in PURE:
            assert parts[0] not in IO_MODULES, f"{path}: pure package {package} imports {name}"


def test_layering_check_sees_a_violation(tmp_path: Path) -> None:
    bad = SRC / "domain" / "zz_probe.py"
    try:
        bad.write_text("from waterline.web import app\nimport asyncio\n", encoding="utf-8")
        names = _imports(bad)
        assert "waterline.web" in names and "asyncio" in names
    finally:
        bad.unlink()
