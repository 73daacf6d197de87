"""Flow store services on the fake unit of work: validation, versions, publish, DID routing, seeding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fakes import FakeStore
from waterline.calls.shipped import SHIPPED, shipped_text
from waterline.domain.errors import Conflict, InvalidInput, NotFound
from waterline.services.callflows import (
    DEFAULT_DID,
    InvalidFlow,
    check_flow,
    current_flow_for_did,
    publish_flow,
    route_did,
    save_flow_version,
    seed_flows,
    seed_shipped_flows,
    unroute_did,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)

SMALL = """
name: {name}
start: bye
nodes:
  bye: {{kind: hangup, say: [{{text: 再见}}]}}
"""


def accept(name: str, text: str) -> None:
    """A check that lets everything through (the real parser is tested below)."""


def test_the_real_check_names_node_and_field() -> None:
    check_flow("small", SMALL.format(name="small"))
    broken = SMALL.format(name="small").replace("kind: hangup", "kind: hangup, next: nowhere")
    with pytest.raises(InvalidFlow) as caught:
        check_flow("small", broken)
    assert caught.value.node == "bye" and "bye" in caught.value.message_en
    assert caught.value.message_zh.startswith("流程无效")
    with pytest.raises(InvalidFlow) as named:
        check_flow("other", SMALL.format(name="small"))
    assert named.value.field == "name"
    with pytest.raises(InvalidFlow):
        check_flow("small", "nodes: [unclosed")


def test_every_shipped_flow_passes_the_check() -> None:
    for name in SHIPPED:
        check_flow(name, shipped_text(name))


def test_invalid_text_stores_nothing() -> None:
    store = FakeStore()
    with pytest.raises(InvalidFlow):
        save_flow_version(store.uow(), "small", "start: [", author="owner", now=NOW)
    assert store.data.flow_versions == [] and store.commits == 0


def test_versions_publish_and_the_call_start_lookup() -> None:
    store = FakeStore()
    v1 = save_flow_version(store.uow(), "small", "one", author="owner", now=NOW, check=accept, publish=True)
    route_did(store.uow(), "400-636-0888", "small", now=NOW)
    v2 = save_flow_version(store.uow(), "small", "two", author="manager", now=NOW, check=accept)
    assert (v1.version, v2.version) == (1, 2)
    current = current_flow_for_did(store.uow(), "4006360888")
    assert current is not None and current.text == "one"  # saving is not publishing
    publish_flow(store.uow(), "small", 2, now=NOW)
    current = current_flow_for_did(store.uow(), "+86 400 636 0888")
    assert current is not None and current.text == "two" and current.id == v2.id
    assert current_flow_for_did(store.uow(), "4008001234") is None
    assert current_flow_for_did(store.uow(), "garbage") is None
    with pytest.raises(NotFound):
        publish_flow(store.uow(), "small", 3, now=NOW)


def test_routing_needs_a_published_flow_and_a_real_number() -> None:
    store = FakeStore()
    with pytest.raises(NotFound):
        route_did(store.uow(), "4006360888", "nope", now=NOW)
    save_flow_version(store.uow(), "draft", "x", author="owner", now=NOW, check=accept)
    with pytest.raises(Conflict):
        route_did(store.uow(), "4006360888", "draft", now=NOW)
    with pytest.raises(InvalidInput):
        route_did(store.uow(), "call me", "draft", now=NOW)
    with pytest.raises(NotFound):
        unroute_did(store.uow(), "4006360888")
    with pytest.raises(InvalidInput):
        save_flow_version(store.uow(), "Bad Name", "x", author="owner", now=NOW, check=accept)


def test_seeding_is_idempotent_and_never_overwrites_edits() -> None:
    store = FakeStore()
    texts = {name: shipped_text(name) for name in SHIPPED}
    created = seed_flows(store.uow(), texts, {"4006360888": "default"}, now=NOW)
    assert sorted(created) == sorted(SHIPPED)
    current = current_flow_for_did(store.uow(), "4006360888")
    assert current is not None and current.name == "default" and current.version == 1
    save_flow_version(store.uow(), "default", "edited", author="owner", now=NOW, check=accept, publish=True)
    unroute_did(store.uow(), "4006360888")
    route_did(store.uow(), "4006360888", "bench-ivr", now=NOW)
    assert seed_flows(store.uow(), texts, {"4006360888": "default"}, now=NOW) == []
    current = current_flow_for_did(store.uow(), "4006360888")
    assert current is not None and current.name == "bench-ivr"
    versions = [v for v in store.data.flow_versions if v.name == "default"]
    assert [v.version for v in versions] == [1, 2]


def test_seeding_what_exists_writes_nothing() -> None:
    store = FakeStore()
    seed_shipped_flows(store.uow(), now=NOW)
    commits = store.commits
    assert seed_shipped_flows(store.uow(), now=NOW) == []
    assert store.commits == commits
    current = current_flow_for_did(store.uow(), DEFAULT_DID)
    assert current is not None and current.name == "default"
