"""Runtime settings: one ``Settings`` object, built once at start and passed down.

Every field can come from a ``WATERLINE_…`` environment variable.  Sections are nested models;
``WATERLINE_HTTP__PORT=9000`` sets one field of a section, and the sections that back a CLI flag
also accept the flag's shorthand as a whole, e.g. ``WATERLINE_HTTP=0.0.0.0:9000``,
``WATERLINE_DB=postgresql+psycopg://…`` or ``WATERLINE_SIP=127.0.0.1:5060``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_FILE_NAME = "secret_key"
SQLITE_FILE_NAME = "waterline.sqlite3"
MIN_SECRET_LENGTH = 16
# Values people paste from examples; a deployment running with one of these has no secret at all.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "secret-key", "waterline", "password", "demo"}
)


class ConfigError(Exception):
    """The configuration cannot be used; the message is bilingual and meant for the operator."""


def parse_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` for IPv6) into its parts.

    Raises ``ValueError`` with a readable message when the text is not of that form.
    """
    text = value.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"bad address {value!r}: missing ']'")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" not in text:
        host, port_text = text, ""
    else:
        raise ValueError(f"bad address {value!r}: write IPv6 hosts as [host]:port")
    if not port_text:
        if default_port is None:
            raise ValueError(f"bad address {value!r}: expected HOST:PORT")
        return host or "127.0.0.1", default_port
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"bad address {value!r}: port must be a number 0-65535")
    return host or "127.0.0.1", int(port_text)


class HttpSettings(BaseModel):
    """Where the web app listens.  Accepts ``"HOST:PORT"`` as a shorthand."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            host, port = parse_host_port(value)
            return {"host": host, "port": port}
        return value


class DbSettings(BaseModel):
    """The store.  ``url`` None means the embedded SQLite file in the data dir."""

    model_config = ConfigDict(frozen=True)

    url: str | None = None
    echo: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"url": value or None}
        return value


class SipSettings(BaseModel):
    """The telephony engine.  ``listen`` None (the default) means no SIP at all.

    Accepts ``"HOST:PORT"`` as a shorthand for ``listen``.
    """

    model_config = ConfigDict(frozen=True)

    listen: tuple[str, int] | None = None
    realm: str = "waterline"
    # RFC 3261 timer bases, in seconds; §17.1.1.1 defaults.
    t1: float = Field(default=0.5, gt=0)
    t2: float = Field(default=4.0, gt=0)
    t4: float = Field(default=5.0, gt=0)
    # Outgoing calls to numbers (a flow's transfer or queue fallback) go through this carrier.
    trunk: tuple[str, int] | None = None
    trunk_username: str | None = None
    trunk_password: SecretStr | None = None
    trunk_from: Literal["did", "caller"] = "did"
    """Whose number the carrier sees as From: the hotline's DID or the caller's."""
    transfer_allow: str = ""
    """Numbers a transfer may dial besides the flow's own (on-duty mobiles, station phones), comma
    separated: the toll-fraud guard refuses every other number (see :attr:`allowed_numbers`)."""
    trunk_sources: str = ""
    """Networks whose INVITEs are taken without credentials (the carrier's SBCs), comma separated
    (``203.0.113.7, 10.1.0.0/16``); every other source is an agent's phone and must authenticate."""
    trust_loopback: bool = True
    """Loopback counts as a trunk source (the demo and SIPp on one machine); off, local phones
    authenticate like any other (tests of agents' own calls)."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"listen": value}
        if isinstance(value, dict):
            for key in ("listen", "trunk"):
                if isinstance(value.get(key), str):
                    text = value[key].strip()
                    value = {**value, key: parse_host_port(text, default_port=5060) if text else None}
        return value

    @field_validator("trunk_sources")
    @classmethod
    def _networks(cls, value: str) -> str:
        for spec in value.split(","):
            if spec.strip():
                ipaddress.ip_network(spec.strip(), strict=False)  # ValueError: pydantic reports it
        return value

    @property
    def trunk_networks(self) -> tuple[str, ...]:
        """:attr:`trunk_sources` as a list."""
        return tuple(n.strip() for n in self.trunk_sources.split(",") if n.strip())

    @property
    def allowed_numbers(self) -> tuple[str, ...]:
        """:attr:`transfer_allow` as a list."""
        return tuple(n.strip() for n in self.transfer_allow.split(",") if n.strip())

    @property
    def host(self) -> str | None:
        """Host part of ``listen``, or None when SIP is off."""
        return self.listen[0] if self.listen else None

    @property
    def port(self) -> int | None:
        """Port part of ``listen``, or None when SIP is off."""
        return self.listen[1] if self.listen else None


class DispatchMode(StrEnum):
    """Whether a placed order is dispatched at once or waits for a dispatcher."""

    AUTO = "auto"
    MANUAL = "manual"


class DispatchSettings(BaseModel):
    """Business rules of dispatch that the operator may change."""

    model_config = ConfigDict(frozen=True)

    mode: DispatchMode = DispatchMode.AUTO


class AuthSettings(BaseModel):
    """Token and cookie behaviour of the web app."""

    model_config = ConfigDict(frozen=True)

    token_ttl_seconds: int = Field(default=12 * 3600, gt=0)
    cookie_name: str = "waterline_session"
    # Off by default because the demo runs on plain http://127.0.0.1; turn on behind TLS.
    cookie_secure: bool = False


class SmsSettings(BaseModel):
    """Outgoing SMS: which gateway and how often the outbox worker looks for due messages."""

    model_config = ConfigDict(frozen=True)

    sender: str = "log"
    outbox_interval_seconds: float = Field(default=2.0, gt=0)


class MediaSettings(BaseModel):
    """RTP media of the telephony engine: the local port range (even RTP ports, RTCP one above), and
    the address SDP advertises for it when that is not the address the engine binds (behind NAT:
    ``WATERLINE_MEDIA__PUBLIC_ADDRESS=203.0.113.7``; the ports are the same, forwarded 1:1)."""

    model_config = ConfigDict(frozen=True)

    port_min: int = Field(default=20000, ge=1024, le=65534)
    port_max: int = Field(default=30000, ge=1025, le=65535)
    public_address: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MediaSettings:
        if self.port_max <= self.port_min:
            raise ValueError("media.port_max must be above media.port_min")
        if self.public_address is not None:
            try:
                address = ipaddress.ip_address(self.public_address)
            except ValueError:
                raise ValueError("media.public_address must be an IP address") from None
            if address.is_unspecified:
                raise ValueError("media.public_address must be an address phones can send to")
        return self


class ConsoleSettings(BaseModel):
    """The web console's front-end packages (installed from npm by ``make venv``: ``npm ci`` in
    ``web-vendor/``). ``vendor_dir`` None means ``web-vendor/node_modules`` of this checkout."""

    model_config = ConfigDict(frozen=True)

    vendor_dir: Path | None = None


MIN_RETENTION_DAYS = 90


class RecordingSettings(BaseModel):
    """Call recordings: how many days they are kept (at least 90, for complaints and disputes)."""

    model_config = ConfigDict(frozen=True)

    retention_days: int = Field(default=180, ge=MIN_RETENTION_DAYS)
    # how often the retention job runs in the web process (daily; tests shorten it)
    retention_interval_seconds: float = Field(default=86400.0, gt=0)


class Settings(BaseSettings):
    """All runtime configuration of one Waterline installation."""

    model_config = SettingsConfigDict(
        env_prefix="WATERLINE_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    http: Annotated[HttpSettings, NoDecode] = HttpSettings()
    # web worker processes sharing the HTTP port (``serve --workers``); 1 serves in the main process
    workers: int = Field(default=1, ge=1, le=16)
    data_dir: Path = Path("var")
    db: Annotated[DbSettings, NoDecode] = DbSettings()
    sip: Annotated[SipSettings, NoDecode] = SipSettings()
    secret_key: SecretStr | None = None
    demo: bool = False
    display_timezone: str = "Asia/Shanghai"
    dispatch: DispatchSettings = DispatchSettings()
    auth: AuthSettings = AuthSettings()
    sms: SmsSettings = SmsSettings()
    media: MediaSettings = MediaSettings()
    recordings: RecordingSettings = RecordingSettings()
    console: ConsoleSettings = ConsoleSettings()
    # the engine's diagnostic services bench-play and bench-record (always on in demo mode)
    diagnostics: bool = False
    # tests only: the time the engine's call flows take as "now" for opening hours, holidays and
    # orders (an after-hours call on a 调休 Saturday), instead of the system clock
    flow_now: datetime | None = None

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the store: ``db.url`` or the SQLite file inside ``data_dir``."""
        if self.db.url:
            return self.db.url
        return f"sqlite:///{(self.data_dir / SQLITE_FILE_NAME).resolve()}"

    @property
    def secret(self) -> str:
        """The secret key as text; call :func:`with_secret` first so it is never missing here."""
        if self.secret_key is None:
            raise ConfigError("密钥未设置 / the secret key is not set (call with_secret first)")
        return self.secret_key.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, with ``overrides`` (e.g. CLI flags) on top.

    Overrides whose value is None are ignored, so an absent CLI flag leaves the env var in charge.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    sip = given.get("sip")
    if isinstance(sip, str):
        # a --sip flag sets the listen address only: the environment's trunk, realm and timers stay
        base = Settings(**{key: value for key, value in given.items() if key != "sip"})
        text = sip.strip()
        listen = parse_host_port(text, default_port=5060) if text else None
        return base.model_copy(update={"sip": base.sip.model_copy(update={"listen": listen})})
    return Settings(**given)


def with_secret(settings: Settings) -> Settings:
    """Return settings whose secret key is fit to sign tokens, or raise :class:`ConfigError`.

    Outside demo mode an empty, short or well-known secret is refused.  In demo mode a missing
    secret is generated once and kept in ``data_dir/secret_key`` so logins survive a restart.
    """
    value = settings.secret_key.get_secret_value() if settings.secret_key is not None else ""
    if _acceptable(value):
        return settings
    if not settings.demo:
        raise ConfigError(
            "拒绝启动：未设置密钥或使用了默认密钥。请设置环境变量 WATERLINE_SECRET_KEY（至少 "
            f"{MIN_SECRET_LENGTH} 个字符的随机字符串），或使用演示模式 `waterline demo`。\n"
            "Refusing to start: the secret key is empty or a known default. Set WATERLINE_SECRET_KEY "
            f"to a random string of at least {MIN_SECRET_LENGTH} characters, or run `waterline demo`."
        )
    return settings.model_copy(update={"secret_key": SecretStr(_demo_secret(settings.data_dir))})


def _acceptable(secret: str) -> bool:
    return len(secret) >= MIN_SECRET_LENGTH and secret.strip().lower() not in KNOWN_DEFAULT_SECRETS


def _demo_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE_NAME
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if _acceptable(stored):
            return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    # Created 0600 from the start so the key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret
