"""The flows that ship with Waterline, as package data (``calls/flows/*.yaml``).

``default`` is the hotline flow of the business plan; ``bench-play``, ``bench-record`` and
``bench-ivr`` are the benchmark services with the Asterisk comparison's semantics. The store seeds
its first flow versions from these texts; after that, the database is the source of truth.
Reading this read-only package data is the only file access in ``calls``.
"""

from __future__ import annotations

from importlib import resources

from waterline.calls.flow import Flow, parse_flow

__all__ = ["BENCH_FLOWS", "DEFAULT", "SHIPPED", "shipped_flow", "shipped_text"]

DEFAULT = "default"
BENCH_FLOWS = ("bench-play", "bench-record", "bench-ivr")
SHIPPED = (DEFAULT, *BENCH_FLOWS)


def shipped_text(name: str) -> str:
    """The YAML text of the shipped flow ``name`` (``KeyError`` for an unknown name)."""
    if name not in SHIPPED:
        raise KeyError(f"no shipped flow {name!r}; shipped: {', '.join(SHIPPED)}")
    return resources.files("waterline.calls").joinpath("flows", f"{name}.yaml").read_text(encoding="utf-8")


def shipped_flow(name: str) -> Flow:
    """The shipped flow ``name``, parsed and validated."""
    return parse_flow(shipped_text(name))
