"""The ``waterline`` command line.

Every option also reads a ``WATERLINE_…`` environment variable (through :mod:`waterline.config`):
``--http`` ↔ ``WATERLINE_HTTP``, ``--data-dir`` ↔ ``WATERLINE_DATA_DIR``, ``--db`` ↔ ``WATERLINE_DB``,
``--sip`` ↔ ``WATERLINE_SIP``, ``--workers`` ↔ ``WATERLINE_WORKERS``.  A flag given on the command line
wins over the variable.
"""

from __future__ import annotations

import fcntl
import gc
import importlib.util
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from waterline import bootstrap
from waterline.adapters.db.migrations import current_revision
from waterline.adapters.db.users import UsernameTaken, UserRepository
from waterline.config import ConfigError, Settings, load_settings, with_secret
from waterline.domain.users import InvalidUser, parse_role
from waterline.services.callflows import DEFAULT_DID

app = typer.Typer(
    name="waterline",
    help="Waterline 送水热线平台：400 呼叫中心与桶装水配送 / 400-hotline call centre and water delivery.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
users_app = typer.Typer(help="用户 / users", no_args_is_help=True)
import_app = typer.Typer(help="导入 / import data", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")

HttpOpt = Annotated[
    str | None,
    typer.Option(
        "--http",
        metavar="HOST:PORT",
        help="HTTP 监听地址 / listen address [env WATERLINE_HTTP; 127.0.0.1:8000]",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", metavar="DIR", help="数据目录 / data dir [env WATERLINE_DATA_DIR; var/]"),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="数据库 / database URL, e.g. postgresql+psycopg://user@host/db "
        "[env WATERLINE_DB; SQLite file in the data dir]",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        max=16,
        help="Web 进程数（共用 HTTP 端口）/ web worker processes sharing the HTTP port "
        "[env WATERLINE_WORKERS; 1]",
    ),
]
SipOpt = Annotated[
    str | None,
    typer.Option(
        "--sip", metavar="HOST:PORT", help="SIP 监听地址 (UDP+TCP) / SIP listen address [env WATERLINE_SIP]"
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(f"配置无效 / invalid configuration: {problems}") from None


def _open_store(settings: Settings) -> bootstrap.Store:
    try:
        return bootstrap.open_store(settings)
    except Exception as exc:
        # A wrong --db URL or a stopped PostgreSQL is an operator error: say it, no traceback.
        raise _fail(f"无法打开数据库 / cannot open the database {settings.database_url}: {exc}") from None


def _now() -> datetime:
    return datetime.now(UTC)


class _Server(uvicorn.Server):
    """uvicorn's server, telling us the moment a stop signal arrives (before it drains)."""

    def __init__(self, config: uvicorn.Config, on_exit: bootstrap.ProcessSupervisor | None) -> None:
        super().__init__(config)
        self.supervisor = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.supervisor is not None:
            self.supervisor.request_stop()
        super().handle_exit(sig, frame)


def _serve(settings: Settings, *, demo: bool) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = with_secret(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if settings.sip.listen is not None and not bootstrap.telephony_available():
        raise _fail("本版本尚无电话引擎 / the telephony engine is not part of this build; run without --sip")
    store = _open_store(settings)
    supervisor: bootstrap.ProcessSupervisor | None = None
    try:
        if demo:
            if bootstrap.ensure_demo_users(store, settings, now=_now()):
                typer.echo(bootstrap.load_demo_data(store, settings))
        # several workers each build their own app (worker_app), in processes of their own
        web = bootstrap.build_app(settings, store) if settings.workers == 1 else None
        _banner(settings, demo=demo)
        if settings.sip.listen is not None:
            supervisor = bootstrap.ProcessSupervisor(bootstrap.run_engine_child, (settings,))
            supervisor.start()
        if settings.workers > 1:
            _serve_workers(settings, supervisor)
        else:
            _serve_here(web, settings, supervisor)
    finally:
        if supervisor is not None:
            supervisor.stop()
        store.close()
    typer.echo("已停止 / stopped")


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.http.host,
        "port": settings.http.port,
        "log_level": "info",
        "lifespan": "on",
        # uvloop and the C HTTP parser cut uvicorn's own CPU per request; an access log line is a
        # formatted write per request on the one event loop, and the store keeps what matters.
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "access_log": False,
    }


def _serve_here(
    web: FastAPI | None, settings: Settings, supervisor: bootstrap.ProcessSupervisor | None
) -> None:
    assert web is not None
    config = uvicorn.Config(web, **_uvicorn_options(settings))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal to the
    # handler that was installed before it: make that handler end the run normally, so the
    # telephony child is stopped and the store closed on SIGTERM too.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    tune_web_gc()
    try:
        _Server(config, supervisor).run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


WORKER_STARTUP_SECONDS = 60
# What a worker process needs of the parent's settings (flags included), handed down as environment.
_WORKER_ENV = "WATERLINE_"


def _serve_workers(settings: Settings, supervisor: bootstrap.ProcessSupervisor | None) -> None:
    """uvicorn's process manager: ``settings.workers`` processes, each running ``worker_app``."""
    # The workers are spawned interpreters that read their settings from the environment: pass the
    # ones the command line may have set, and the secret (a demo secret may have been generated).
    os.environ.update(
        {
            f"{_WORKER_ENV}DB": settings.database_url,
            f"{_WORKER_ENV}DATA_DIR": str(settings.data_dir),
            f"{_WORKER_ENV}SECRET_KEY": settings.secret,
            f"{_WORKER_ENV}DEMO": "1" if settings.demo else "0",
        }
    )
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        workers=settings.workers,
        # a spawned worker imports the whole app before it answers the parent's health pings; on a
        # busy machine that took longer than uvicorn's 5 s and the parent killed it as hung
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
        **_uvicorn_options(settings),
    )
    socket = config.bind_socket()
    try:
        # Multiprocess stops its workers and returns on SIGINT/SIGTERM
        Multiprocess(config, sockets=[socket]).run()
    finally:
        socket.close()
        if supervisor is not None:
            supervisor.request_stop()


def worker_app() -> FastAPI:
    """The app of one web worker process (``serve --workers N``): settings from the environment the
    parent set, the store already migrated. The first worker to lock ``data_dir/outbox.lock`` runs
    the outbox worker, so one process delivers the SMS (on SQLite two would send a message twice)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = with_secret(load_settings())
    store = bootstrap.open_store(settings, migrate=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = (settings.data_dir / OUTBOX_LOCK_FILE).open("a")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        runs_outbox = True
    except BlockingIOError:
        lock.close()
        runs_outbox = False
    app = bootstrap.build_app(settings, store, outbox=runs_outbox)
    # held (open) for the life of the process; the kernel releases it when the process ends
    app.state.outbox_lock = lock if runs_outbox else None
    return app


# Young collections of the web process run this many allocations apart (Python's default is 700):
# an order placement allocates thousands of short-lived objects (ORM states, rows, pydantic models)
# and at the default the collector ran several times per request.
WEB_GC_THRESHOLD = 20_000


def tune_web_gc() -> None:
    """Freeze what start-up left alive (modules, the app, the number tables) out of the cyclic
    collector's sight and make young collections rarer; for the single web process that ``serve``
    runs itself (not called where tests build apps in-process). In process (SQLite, callgrind, 40
    placements after 30 warm-up ones): POST /api/orders 10.21 -> 9.79 M instructions."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(WEB_GC_THRESHOLD, 20, 100)


OUTBOX_LOCK_FILE = "outbox.lock"


def _raise_interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _banner(settings: Settings, *, demo: bool) -> None:
    for line in banner(settings, demo=demo):
        typer.echo(line)


def banner(settings: Settings, *, demo: bool) -> list[str]:
    """What ``serve``/``demo`` print at start: where the console, the API and SIP are; in demo mode the
    logins of every role, how an agent's softphone registers and which number the customer dials."""
    host = settings.http.host
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{settings.http.port}"
    lines = [
        "Waterline 送水热线平台",
        f"  控制台 / console: {base}/login",
        f"  HTTP   {base}   (API 文档 / docs: {base}/docs)",
    ]
    if settings.workers > 1:
        lines.append(f"  Web 进程 / web workers: {settings.workers}")
    if settings.sip.listen is not None:
        sip_host, sip_port = settings.sip.listen
        lines.append(f"  SIP    udp+tcp {sip_host}:{sip_port}   (realm {settings.sip.realm})")
    lines.append(f"  数据库 / database: {settings.database_url}")
    if demo:
        lines.append("  演示账号 / demo logins (用户名 / 密码 / 角色):")
        lines += [
            f"    {login.username:<11} {login.password:<14} {login.role.value:<11} {login.display_name}"
            for login in bootstrap.DEMO_LOGINS
        ]
        if settings.sip.listen is not None:
            sip_host, sip_port = settings.sip.listen
            agent = next(login for login in bootstrap.DEMO_LOGINS if login.sip_password is not None)
            lines += [
                f"  客服话机 / agent softphone: 服务器 / server {sip_host}:{sip_port} (UDP), "
                f"用户名 / user {agent.username}, 密码 / password {agent.sip_password}",
                f"  客户来电 / customer call: sip:{DEFAULT_DID}@{sip_host}:{sip_port}，按 0 转人工 / press 0",
            ]
    lines.append("  按 Ctrl-C 停止 / press Ctrl-C to stop")
    return lines


@app.command()
def serve(
    http: HttpOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
    sip: SipOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """运行平台 / run the platform (web app, and the telephony engine when --sip is set)."""
    _serve(_settings(http=http, data_dir=data_dir, db=db, sip=sip, workers=workers), demo=False)


@app.command()
def demo(
    http: HttpOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
    sip: SipOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """演示模式：空数据目录时载入陕西演示数据并运行 / load demo data into an empty store and serve."""
    _serve(_settings(http=http, data_dir=data_dir, db=db, sip=sip, workers=workers, demo=True), demo=True)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """把数据库迁移到最新版本 / migrate the database to the newest revision."""
    settings = _settings(data_dir=data_dir, db=db)
    _open_store(settings).close()
    typer.echo(f"数据库已是最新 / database at revision {current_revision(settings.database_url)}")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    role: Annotated[str, typer.Option("--role", help="owner | manager | dispatcher | agent | courier")],
    password: Annotated[
        str,
        typer.Option(
            "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="密码 / password"
        ),
    ],
    sip_password: Annotated[
        str | None, typer.Option("--sip-password", help="SIP 话机密码 / SIP phone password (agents)")
    ] = None,
    display_name: Annotated[str, typer.Option("--name", help="显示名称 / display name")] = "",
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """添加用户 / add a user."""
    settings = _settings(data_dir=data_dir, db=db)
    try:
        parsed_role = parse_role(role)
    except InvalidUser as exc:
        raise _fail(str(exc)) from None
    store = _open_store(settings)
    try:
        with store.session_factory() as session:
            user = UserRepository(session).add(
                username,
                parsed_role,
                password,
                now=_now(),
                display_name=display_name,
                sip_password=sip_password,
                sip_realm=settings.sip.realm,
            )
            session.commit()
    except (InvalidUser, UsernameTaken) as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(f"已添加用户 / user added: {user.username} ({user.role.value}, id {user.id})")


@import_app.command("customers")
def import_customers(
    file: Annotated[
        Path, typer.Argument(help="CSV 或 .xlsx 文件 / CSV or .xlsx file", exists=True, dir_okay=False)
    ],
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """导入客户（按电话去重）/ import customers (deduplicated by phone)."""
    importer = bootstrap.optional_module(bootstrap.IMPORTER_MODULE)
    if importer is None:
        raise _fail("客户导入功能尚未提供 / customer import is not available in this build yet", code=1)
    settings = _settings(data_dir=data_dir, db=db)
    store = _open_store(settings)
    try:
        report = importer.import_customers(file, bootstrap.uow_factory(store))
    except importer.FileProblem as exc:
        raise _fail(f"{exc.message_zh} / {exc.message_en}") from None
    finally:
        store.close()
    typer.echo(str(report))
    if not report.ok:
        # The good rows are imported; a non-zero status still tells scripts to read the report.
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="waterline")


if __name__ == "__main__":
    main()
