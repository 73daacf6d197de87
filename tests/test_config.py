from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from waterline.config import (
    ConfigError,
    DispatchMode,
    Settings,
    load_settings,
    parse_host_port,
    with_secret,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WATERLINE_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = Settings()
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)
    assert settings.data_dir == Path("var")
    assert settings.sip.listen is None
    assert settings.dispatch.mode is DispatchMode.AUTO
    assert settings.database_url == f"sqlite:///{Path('var').resolve() / 'waterline.sqlite3'}"


def test_flag_shorthands_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WATERLINE_HTTP", "0.0.0.0:9000")
    monkeypatch.setenv("WATERLINE_SIP", "127.0.0.1:5070")
    monkeypatch.setenv("WATERLINE_DB", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("WATERLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WATERLINE_DISPATCH__MODE", "manual")
    settings = Settings()
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 9000)
    assert settings.sip.listen == ("127.0.0.1", 5070)
    assert (settings.sip.host, settings.sip.port) == ("127.0.0.1", 5070)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.data_dir == tmp_path
    assert settings.dispatch.mode is DispatchMode.MANUAL


def test_nested_env_sets_one_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_HTTP__PORT", "8123")
    monkeypatch.setenv("WATERLINE_SIP__REALM", "shaanxi")
    settings = Settings()
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8123)
    assert settings.sip.realm == "shaanxi"
    assert settings.sip.listen is None


def test_overrides_beat_env_and_none_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_HTTP", "127.0.0.1:9000")
    monkeypatch.setenv("WATERLINE_DATA_DIR", "/srv/water")
    settings = load_settings(http="127.0.0.1:9100", data_dir=None)
    assert settings.http.port == 9100
    assert settings.data_dir == Path("/srv/water")


def test_bad_address_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Settings(http="localhost:http")
    with pytest.raises(ValidationError):
        Settings(http="127.0.0.1:70000")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:5060", ("127.0.0.1", 5060)), ("[::1]:5061", ("::1", 5061)), (":8000", ("127.0.0.1", 8000))],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


def test_sip_port_defaults_to_5060() -> None:
    assert Settings(sip="10.0.0.5").sip.listen == ("10.0.0.5", 5060)


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short"])
def test_default_or_empty_secret_refused_outside_demo(secret: str | None, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=None if secret is None else SecretStr(secret))
    with pytest.raises(ConfigError, match="WATERLINE_SECRET_KEY"):
        with_secret(settings)


def test_strong_secret_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_SECRET_KEY", "a-long-random-secret-0123456789")
    settings = with_secret(Settings(data_dir=tmp_path))
    assert settings.secret == "a-long-random-secret-0123456789"
    assert not (tmp_path / "secret_key").exists()


def test_demo_generates_and_keeps_secret(tmp_path: Path) -> None:
    first = with_secret(Settings(data_dir=tmp_path / "data", demo=True))
    second = with_secret(Settings(data_dir=tmp_path / "data", demo=True))
    assert len(first.secret) >= 16
    assert first.secret == second.secret
    mode = stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_secret_property_refuses_missing_secret() -> None:
    with pytest.raises(ConfigError):
        _ = Settings().secret


def test_media_public_address_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().media.public_address is None
    monkeypatch.setenv("WATERLINE_MEDIA__PUBLIC_ADDRESS", "203.0.113.7")
    assert Settings().media.public_address == "203.0.113.7"
    for bad in ("media.example.com", "0.0.0.0", "203.0.113"):
        monkeypatch.setenv("WATERLINE_MEDIA__PUBLIC_ADDRESS", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_trunk_and_transfer_allow_list_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_SIP__TRUNK", "10.0.0.9")
    monkeypatch.setenv("WATERLINE_SIP__TRUNK_USERNAME", "hotline")
    monkeypatch.setenv("WATERLINE_SIP__TRUNK_PASSWORD", "s3cret")
    monkeypatch.setenv("WATERLINE_SIP__TRUNK_FROM", "caller")
    monkeypatch.setenv("WATERLINE_SIP__TRANSFER_ALLOW", "13800000000, 029-8888-0000,")
    sip = Settings().sip
    assert sip.trunk == ("10.0.0.9", 5060)
    assert sip.trunk_username == "hotline"
    assert sip.trunk_password is not None and sip.trunk_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(sip)
    assert sip.trunk_from == "caller"
    assert sip.allowed_numbers == ("13800000000", "029-8888-0000")


def test_no_trunk_by_default() -> None:
    sip = Settings().sip
    assert sip.trunk is None and sip.allowed_numbers == () and sip.trunk_from == "did"


def test_sip_flag_keeps_the_trunk_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_SIP__TRUNK", "10.0.0.9:5080")
    monkeypatch.setenv("WATERLINE_SIP__REALM", "shaanxi")
    sip = load_settings(sip="127.0.0.1:5070").sip
    assert sip.listen == ("127.0.0.1", 5070)
    assert (sip.trunk, sip.realm) == (("10.0.0.9", 5080), "shaanxi")


def test_trunk_sources_are_networks_and_loopback_trust_can_be_turned_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_SIP__TRUNK_SOURCES", "203.0.113.7, 10.1.0.0/16")
    monkeypatch.setenv("WATERLINE_SIP__TRUST_LOOPBACK", "0")
    sip = Settings().sip
    assert sip.trunk_networks == ("203.0.113.7", "10.1.0.0/16") and sip.trust_loopback is False
    monkeypatch.setenv("WATERLINE_SIP__TRUNK_SOURCES", "carrier.example")
    with pytest.raises(ValidationError):
        Settings()
