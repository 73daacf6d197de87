"""Service functions of the flow store: save a version (validated), publish, route DIDs, seed.

Every function opens and commits its own unit of work. Validation is a function argument
(:data:`FlowCheck`) so the web layer and the seeding use the flow engine's own parser
(:func:`check_flow`) and tests may pass a stricter or simpler one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime

from waterline.calls.flow import FlowError, parse_flow
from waterline.calls.shipped import DEFAULT, SHIPPED, shipped_text
from waterline.domain.errors import Conflict, InvalidInput, NotFound
from waterline.domain.flows import (
    MAX_FLOW_TEXT,
    DidRoute,
    FlowSummary,
    FlowVersion,
    check_flow_name,
    normalise_did,
)
from waterline.services.ports import UnitOfWork

__all__ = [
    "DEFAULT_DID",
    "FlowCheck",
    "InvalidFlow",
    "check_flow",
    "current_flow_for_did",
    "publish_flow",
    "route_did",
    "save_flow_version",
    "seed_flows",
    "seed_shipped_flows",
    "unroute_did",
]


DEFAULT_DID = "4006360888"
"""The demo hotline 400-636-0888 (636 reads 送水啦), answered by the shipped ``default`` flow."""


class InvalidFlow(InvalidInput):
    """A flow text the engine cannot run; ``node`` and ``field`` say where (None: the whole flow)."""

    def __init__(self, detail: str, *, node: str | None = None, field: str | None = None) -> None:
        super().__init__("flow.invalid", detail=detail)
        self.node = node
        self.field = field


FlowCheck = Callable[[str, str], None]
"""``check(name, text)``: raise :class:`InvalidFlow` when ``text`` is no runnable flow named ``name``."""


def check_flow(name: str, text: str, *, prompts: Collection[str] | None = None) -> None:
    """Validate with the flow engine's parser; the YAML's ``name``, when given, must be ``name``."""
    if len(text.encode("utf-8")) > MAX_FLOW_TEXT:
        raise InvalidFlow(f"longer than {MAX_FLOW_TEXT} bytes")
    try:
        flow = parse_flow(text, prompts=prompts)
    except FlowError as exc:
        raise InvalidFlow(str(exc), node=exc.node, field=exc.field) from exc
    if flow.name and flow.name != name:
        raise InvalidFlow(f"the flow calls itself {flow.name!r}, not {name!r}", field="name")


def save_flow_version(
    uow: UnitOfWork, name: str, text: str, *, author: str, now: datetime, check: FlowCheck = check_flow,
    publish: bool = False,
) -> FlowVersion:
    """Validate ``text`` and store it as the next version of ``name`` (published at once if asked)."""
    check_flow_name(name)
    check(name, text)
    with uow:
        version = uow.flows.add_version(name, text, author=author, at=now)
        if publish:
            uow.flows.publish(name, version.version, at=now)
        uow.commit()
    return version


def publish_flow(uow: UnitOfWork, name: str, version: int, *, now: datetime) -> FlowSummary:
    """Make an existing version current: the next call to a DID of this flow runs it."""
    with uow:
        if uow.flows.get_version(name, version) is None:
            raise NotFound("flow version", f"{name} v{version}")
        summary = uow.flows.publish(name, version, at=now)
        uow.commit()
    return summary


def route_did(uow: UnitOfWork, raw_did: str, flow_name: str, *, now: datetime) -> DidRoute:
    """Route a dialled number to a flow that has a published version."""
    did = normalise_did(raw_did)
    with uow:
        summary = uow.flows.get(flow_name)
        if summary is None:
            raise NotFound("flow", flow_name)
        if summary.current_version is None:
            raise Conflict("conflict", detail=f"flow {flow_name} has no published version")
        route = uow.flows.set_route(did, flow_name, at=now)
        uow.commit()
    return route


def unroute_did(uow: UnitOfWork, raw_did: str) -> None:
    """Stop answering ``raw_did`` with a flow (``NotFound`` when it was not routed)."""
    did = normalise_did(raw_did)
    with uow:
        if not uow.flows.remove_route(did):
            raise NotFound("number", did)
        uow.commit()


def current_flow_for_did(uow: UnitOfWork, raw_did: str) -> FlowVersion | None:
    """The version a call to ``raw_did`` starts with now (None: unrouted or unpublished).

    One indexed read: the telephony engine calls it at every call start and caches the parsed
    flow by ``FlowVersion.id`` (versions are immutable, so such a cache is never stale).
    """
    try:
        did = normalise_did(raw_did)
    except InvalidInput:
        return None
    with uow:
        return uow.flows.current_for_did(did)


def seed_flows(
    uow: UnitOfWork, texts: Mapping[str, str], routes: Mapping[str, str], *, now: datetime,
    check: FlowCheck = check_flow, author: str = "system",
) -> list[str]:
    """Store and publish each flow of ``texts`` that the store does not have yet, then route each DID of
    ``routes`` (DID → flow name) that is not routed yet. Idempotent: an edited or re-routed flow is
    never overwritten. Returns the names of the flows it created."""
    for name, text in texts.items():
        check_flow_name(name)
        check(name, text)
    created: list[str] = []
    with uow:
        for name, text in texts.items():
            if uow.flows.get(name) is None:
                version = uow.flows.add_version(name, text, author=author, at=now)
                uow.flows.publish(name, version.version, at=now)
                created.append(name)
        routed = {route.did for route in uow.flows.routes()}
        changed = bool(created)
        for raw_did, name in routes.items():
            did = normalise_did(raw_did)
            if did not in routed and uow.flows.get(name) is not None:
                uow.flows.set_route(did, name, at=now)
                changed = True
        if changed:  # a store that has everything sees no write at all
            uow.commit()
    return created


def seed_shipped_flows(
    uow: UnitOfWork, *, now: datetime, routes: Mapping[str, str] | None = None
) -> list[str]:
    """Seed the flows shipped with Waterline (``default`` and the bench flows) and route
    ``DEFAULT_DID`` to ``default`` (or the given ``routes``); a no-op for what the store has already."""
    texts = {name: shipped_text(name) for name in SHIPPED}
    return seed_flows(uow, texts, {DEFAULT_DID: DEFAULT} if routes is None else routes, now=now)
