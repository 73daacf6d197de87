from collections.abc import Sequence

from waterline.calls.flow import parse_flow
from waterline.telephony.transfer import (
    Destination,
    Refusal,
    TransferPolicy,
    Trunk,
    flow_numbers,
    normalise_number,
)

FLOW = """
name: t
start: menu
nodes:
  menu:
    kind: menu
    say: [{prompt: menu}]
    options: {"0": agent, "9": q, "8": templ}
    on_failure: bye
  agent: {kind: transfer, target: "+86 138-0000-0000", on_failure: bye}
  q: {kind: queue, queue: sales, fallback: "02988880000", on_failure: bye}
  templ: {kind: transfer, target: "{caller}", on_failure: bye}
  bye: {kind: hangup}
"""

REGISTERED = {"alice": ["sip:alice@192.0.2.7:5062;transport=udp", "sip:alice@192.0.2.8"]}


def contacts(user: str) -> Sequence[str]:
    return REGISTERED.get(user, [])


def test_normalise_number() -> None:
    assert normalise_number("+86 138-0000-0000") == "+8613800000000"
    assert normalise_number("(029) 8888 0000") == "02988880000"
    assert normalise_number("alice") is None
    assert normalise_number("{caller}") is None
    assert normalise_number("12") is None


def test_flow_numbers_are_its_literal_targets_and_fallbacks() -> None:
    assert flow_numbers(parse_flow(FLOW)) == frozenset({"13800000000", "02988880000"})


def test_registered_agent_resolves_to_its_best_contact() -> None:
    policy = TransferPolicy(contacts=contacts)
    got = policy.resolve("alice", caller="13911112222", did="4006360888")
    assert got == Destination("agent", "alice", "sip:alice@192.0.2.7:5062;transport=udp",
                              ("192.0.2.7", 5062), "4006360888")


def test_number_on_the_flow_goes_through_the_trunk_with_credentials() -> None:
    trunk = Trunk("203.0.113.5", 5080, "hotline", "pw")
    policy = TransferPolicy(contacts=contacts, trunk=trunk)
    got = policy.resolve("13800000000", flow_allowed=flow_numbers(parse_flow(FLOW)), caller="139",
                         did="4006360888")
    assert isinstance(got, Destination)
    assert (got.kind, got.uri, got.dest, got.from_user) == (
        "number", "sip:13800000000@203.0.113.5:5080", ("203.0.113.5", 5080), "4006360888")
    assert got.credentials == ("hotline", "pw")
    assert "pw" not in repr(got) and "pw" not in repr(trunk)


def test_trunk_may_present_the_callers_number() -> None:
    policy = TransferPolicy(contacts=contacts, trunk=Trunk("h", from_user="caller"),
                            allowed=["+86 029 8888 0000"])
    got = policy.resolve("02988880000", caller="13911112222", did="4006360888")
    assert isinstance(got, Destination) and got.from_user == "13911112222" and got.credentials is None


def test_numbers_off_the_allow_list_are_refused() -> None:
    policy = TransferPolicy(contacts=contacts, trunk=Trunk("h"), allowed=["13800000000"])
    assert policy.resolve("00881234567890", flow_allowed=frozenset({"02988880000"})) == Refusal(
        "00881234567890", "not-allowed")
    assert isinstance(policy.resolve("+8613800000000"), Destination)


def test_unregistered_agent_and_missing_trunk_are_refused() -> None:
    policy = TransferPolicy(contacts=contacts, allowed=["13800000000"])
    assert policy.resolve("bob") == Refusal("bob", "not-registered")
    assert policy.resolve("") == Refusal("", "not-registered")
    assert policy.resolve("13800000000") == Refusal("13800000000", "no-trunk")


def test_a_broken_binding_is_skipped() -> None:
    policy = TransferPolicy(contacts=lambda user: ["not a uri", "sip:carol@192.0.2.9"])
    got = policy.resolve("carol")
    assert isinstance(got, Destination) and got.dest == ("192.0.2.9", 5060)
