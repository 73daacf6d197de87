"""The console's npm packages: found where ``make venv`` installs them, or a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from waterline.config import ConfigError, ConsoleSettings, Settings
from waterline.web.console.vendor import DEFAULT_VENDOR_DIR, required_packages, vendor_dir


def settings(directory: Path | None) -> Settings:
    return Settings(secret_key=SecretStr("x" * 32), console=ConsoleSettings(vendor_dir=directory))


def test_the_checkout_has_its_packages_installed() -> None:
    assert "echarts" in required_packages(DEFAULT_VENDOR_DIR)
    assert vendor_dir(settings(None)) == DEFAULT_VENDOR_DIR


def test_a_missing_directory_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="npm ci"):
        vendor_dir(settings(tmp_path / "node_modules"))


def test_a_package_missing_from_the_directory_is_named(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"echarts": "6.1.0"}}))
    (tmp_path / "node_modules").mkdir()
    with pytest.raises(ConfigError, match="echarts"):
        vendor_dir(settings(tmp_path / "node_modules"))
    (tmp_path / "node_modules" / "echarts").mkdir()
    (tmp_path / "node_modules" / "echarts" / "package.json").write_text("{}")
    assert vendor_dir(settings(tmp_path / "node_modules")) == tmp_path / "node_modules"
