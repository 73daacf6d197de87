"""Standalone telephony engine: ``python -m waterline.telephony --sip HOST:PORT --data-dir DIR``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from waterline.config import load_settings
from waterline.telephony.engine import run_engine


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the engine until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m waterline.telephony", description=__doc__)
    parser.add_argument("--sip", required=True, metavar="HOST:PORT", help="UDP and TCP listen address")
    parser.add_argument("--data-dir", type=Path, default=None, help="where logs/telephony.jsonl goes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_engine(load_settings(sip=args.sip, data_dir=args.data_dir))


if __name__ == "__main__":
    main()
