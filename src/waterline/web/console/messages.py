"""The console's message catalogue: every user-facing text of the pages and their scripts.

The catalogue is one flat mapping ``key -> text`` per language, stored as JSON files under
``messages/<language>/`` — one file per page group (``shell.json``, ``agent.json``...), merged at
load, so helpers adding pages never edit the same file. A key may appear in one file only.
Placeholders are written ``{name}`` and filled by :func:`translate` (and by ``t()`` in
``static/console.js``, which reads the same catalogue embedded in every page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_COOKIE = "waterline_lang"
MESSAGES_DIR = Path(__file__).with_name("messages")

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class CatalogueError(Exception):
    """A catalogue file is malformed or two files define the same key."""


Catalogue = Mapping[str, str]


def load_catalogue(language: str, directory: Path = MESSAGES_DIR) -> dict[str, str]:
    """All messages of ``language``, merged from its JSON files; CatalogueError on a bad file."""
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    for path in sorted((directory / language).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CatalogueError(f"{path}: {exc}") from exc
        if not isinstance(data, dict):
            raise CatalogueError(f"{path}: expected an object of key -> text")
        for key, text in data.items():
            if not isinstance(text, str):
                raise CatalogueError(f"{path}: {key!r} is not a string")
            if key in merged:
                raise CatalogueError(f"{path}: {key!r} is already defined in {origin[key]}")
            merged[key] = text
            origin[key] = path.name
    return merged


def load_catalogues(directory: Path = MESSAGES_DIR) -> dict[str, dict[str, str]]:
    """The catalogue of every language in :data:`LANGUAGES`."""
    return {language: load_catalogue(language, directory) for language in LANGUAGES}


def translate(catalogue: Catalogue, key: str, **params: object) -> str:
    """The text of ``key`` with ``{name}`` placeholders filled from ``params``.

    A missing key shows as the key itself (a test keeps the catalogues complete), a missing
    parameter as its placeholder.
    """
    text = catalogue.get(key, key)
    if not params:
        return text
    return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)


def pick_language(cookie: str | None) -> str:
    """The language of a request: the one chosen in this browser (the cookie), else zh-CN.

    The browser's Accept-Language is not consulted: the console is Chinese first, and an English
    system locale on an office PC should not switch it.
    """
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE
