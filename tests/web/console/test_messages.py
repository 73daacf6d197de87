"""The console's message catalogue: complete in both languages, and every key used is defined."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from waterline.domain.users import Role
from waterline.web.console.messages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MESSAGES_DIR,
    CatalogueError,
    load_catalogue,
    load_catalogues,
    pick_language,
    translate,
)
from waterline.web.console.render import STATIC_DIR, TEMPLATES_DIR

# t("key" or t('key' in templates (Jinja) and scripts (JS); keys built at run time are listed below.
USED_KEY = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.\-]+)["']""")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def used_keys() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for root, pattern in ((TEMPLATES_DIR, "*.html"), (STATIC_DIR, "*.js")):
        for path in root.rglob(pattern):
            for key in USED_KEY.findall(path.read_text(encoding="utf-8")):
                found.setdefault(key, set()).add(str(path.relative_to(root.parent)))
    return found


def test_every_language_has_the_same_files_and_keys() -> None:
    files = {lang: sorted(p.name for p in (MESSAGES_DIR / lang).glob("*.json")) for lang in LANGUAGES}
    assert files["en"] == files["zh-CN"]
    catalogues = load_catalogues()
    zh, en = set(catalogues["zh-CN"]), set(catalogues["en"])
    assert not zh - en, f"missing in en: {sorted(zh - en)}"
    assert not en - zh, f"missing in zh-CN: {sorted(en - zh)}"


def test_each_key_lives_in_the_same_file_in_both_languages() -> None:
    for path in (MESSAGES_DIR / "zh-CN").glob("*.json"):
        zh = json.loads(path.read_text(encoding="utf-8"))
        en = json.loads((MESSAGES_DIR / "en" / path.name).read_text(encoding="utf-8"))
        assert set(zh) == set(en), path.name


def test_translations_have_the_same_placeholders() -> None:
    catalogues = load_catalogues()
    for key, text in catalogues["zh-CN"].items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(catalogues["en"][key])), key


def test_no_text_is_empty() -> None:
    for lang, catalogue in load_catalogues().items():
        assert [key for key, text in catalogue.items() if not text.strip()] == [], lang


def test_every_key_used_in_templates_and_scripts_is_defined() -> None:
    defined = set(load_catalogues()["zh-CN"])
    used = used_keys()
    assert "shell.login.title" in used  # the scan itself works
    # t("role." ~ user.role.value): a key ending in "." is a prefix completed at run time
    missing = {
        key: sorted(where)
        for key, where in used.items()
        if (not any(d.startswith(key) for d in defined) if key.endswith(".") else key not in defined)
    }
    assert missing == {}


def test_every_role_has_a_name() -> None:
    for catalogue in load_catalogues().values():
        for role in Role:
            assert f"role.{role.value}" in catalogue
        for lang in LANGUAGES:
            assert f"lang.{lang}" in catalogue


def test_translate_fills_placeholders_and_shows_unknown_keys() -> None:
    catalogue = {"greet": "你好，{name}（{role}）"}
    assert translate(catalogue, "greet", name="张三", role="客服") == "你好，张三（客服）"
    assert translate(catalogue, "greet", name="张三") == "你好，张三（{role}）"
    assert translate(catalogue, "nope") == "nope"


def test_the_language_is_the_cookies_choice_else_chinese() -> None:
    assert DEFAULT_LANGUAGE == "zh-CN"
    assert pick_language(None) == "zh-CN"
    assert pick_language("en") == "en"
    assert pick_language("fr") == "zh-CN"


def test_a_key_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "a.json").write_text('{"x.y": "一"}', encoding="utf-8")
    (tmp_path / "zh-CN" / "b.json").write_text('{"x.y": "二"}', encoding="utf-8")
    with pytest.raises(CatalogueError, match="already defined in a.json"):
        load_catalogue("zh-CN", tmp_path)


def test_a_malformed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "a.json").write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(CatalogueError, match="not a string"):
        load_catalogue("en", tmp_path)
    (tmp_path / "en" / "a.json").write_text("[]", encoding="utf-8")
    with pytest.raises(CatalogueError, match="expected an object"):
        load_catalogue("en", tmp_path)
