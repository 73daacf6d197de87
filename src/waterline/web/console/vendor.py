"""Where the console's npm packages are installed, checked once at start.

``web-vendor/package.json`` (repository root) lists them with a committed lockfile; ``make venv``
runs ``npm ci`` there, and the app serves ``web-vendor/node_modules`` at :data:`VENDOR_URL`.
``WATERLINE_CONSOLE__VENDOR_DIR`` points elsewhere (a packaged install).
"""

from __future__ import annotations

import json
from pathlib import Path

from waterline.config import ConfigError, Settings

VENDOR_URL = "/console/vendor"
# src/waterline/web/console/vendor.py -> the repository root
DEFAULT_VENDOR_DIR = Path(__file__).resolve().parents[4] / "web-vendor" / "node_modules"


def required_packages(vendor_dir: Path) -> list[str]:
    """The packages ``package.json`` beside ``vendor_dir`` asks for (none when there is no such file)."""
    manifest = vendor_dir.parent / "package.json"
    if not manifest.is_file():
        return []
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return sorted(data.get("dependencies", {}))


def vendor_dir(settings: Settings) -> Path:
    """The installed npm packages, or ConfigError saying how to install them."""
    directory = settings.console.vendor_dir or DEFAULT_VENDOR_DIR
    missing = [
        name for name in required_packages(directory) if not (directory / name / "package.json").is_file()
    ]
    if not directory.is_dir() or missing:
        what = ", ".join(missing) or str(directory)
        raise ConfigError(
            f"控制台前端依赖未安装（{what}）：请运行 `make venv`（在 web-vendor/ 中执行 npm ci），"
            "或设置 WATERLINE_CONSOLE__VENDOR_DIR。\n"
            f"The console's front-end packages are not installed ({what}): run `make venv` "
            "(npm ci in web-vendor/), or set WATERLINE_CONSOLE__VENDOR_DIR."
        )
    return directory
