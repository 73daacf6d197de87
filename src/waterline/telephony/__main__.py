"""Standalone telephony engine: ``python -m waterline.telephony --sip HOST:PORT --data-dir DIR``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from waterline.adapters.db.migrations import upgrade
from waterline.config import load_settings
from waterline.telephony.engine import run_engine


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the engine until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m waterline.telephony", description=__doc__)
    parser.add_argument("--sip", required=True, metavar="HOST:PORT", help="UDP and TCP listen address")
    parser.add_argument("--data-dir", type=Path, default=None, help="where logs/telephony.jsonl goes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(sip=args.sip, data_dir=args.data_dir)
    # `waterline serve` migrates before it starts the engine; standalone, the engine does it itself so
    # agents' SIP credentials (the users table) can be read from a fresh data dir too.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    run_engine(settings)


if __name__ == "__main__":
    main()
