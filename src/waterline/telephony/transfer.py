"""Where a flow's transfer may go: an agent's registered contact or a number through the trunk.

A flow's ``transfer`` node (and a ``queue`` node's fallback forward) names a target: an agent's SIP
username, or a phone number. :class:`TransferPolicy` turns it into a :class:`Destination` (request
URI, where to send the INVITE, From user, the trunk's digest credentials) or a :class:`Refusal`.

Toll-fraud guard: a transfer is an outgoing call paid by the operator, and a flow's target is a
template that may be filled from caller input. So only registered agents and numbers on an allow
list are dialled: the numbers the flow itself names (literal transfer targets and queue fallbacks,
see :func:`flow_numbers`) and the numbers the operator configured (on-duty mobiles, station phones).
Anything else is refused; the caller of :meth:`TransferPolicy.resolve` logs and journals it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from waterline.calls.flow import Flow, QueueNode, TransferNode
from waterline.sip.errors import SipError
from waterline.sip.uri import parse_uri

__all__ = ["Destination", "Refusal", "TransferPolicy", "Trunk", "flow_numbers", "normalise_number"]

Address = tuple[str, int]


def normalise_number(text: str) -> str | None:
    """A dialable number in digits (``+86 138-0000-0000`` → ``+8613800000000``), or None when ``text``
    is not a phone number (an agent name, a template left unfilled)."""
    cleaned = "".join(ch for ch in text.strip() if ch not in " -().")
    digits = cleaned[1:] if cleaned.startswith("+") else cleaned
    if not digits.isdigit() or not 3 <= len(digits) <= 20:
        return None
    return cleaned


def _national(number: str) -> str:
    """The same number as the allow list compares it: China's +86/0086 prefix dropped."""
    for prefix in ("+86", "0086"):
        if number.startswith(prefix) and len(number) > len(prefix) + 6:
            return number[len(prefix):]
    return number


def flow_numbers(flow: Flow) -> frozenset[str]:
    """The numbers ``flow`` itself names as transfer targets or queue fallbacks (templates excluded:
    what a template yields at run time is not something the flow's author wrote down)."""
    numbers: set[str] = set()
    for node in flow.nodes.values():
        text = node.target if isinstance(node, TransferNode) else node.fallback if isinstance(
            node, QueueNode) else None
        if text is None or "{" in text:
            continue
        number = normalise_number(text)
        if number is not None:
            numbers.add(_national(number))
    return frozenset(numbers)


@dataclass(frozen=True, slots=True)
class Trunk:
    """The carrier for outgoing calls to numbers."""

    host: str
    port: int = 5060
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    from_user: Literal["did", "caller"] = "did"
    """Whose number the carrier sees: the hotline's DID (default) or the caller's."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one outgoing leg goes."""

    kind: Literal["agent", "number"]
    target: str  # as the flow asked
    uri: str  # Request-URI
    dest: Address
    from_user: str
    credentials: tuple[str, str] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a transfer target is not dialled: ``not-allowed`` (toll-fraud guard), ``no-trunk``
    (a number but no trunk configured), ``not-registered`` (neither a number nor a registered agent)."""

    target: str
    reason: str


class TransferPolicy:
    """Resolves transfer targets; one per engine."""

    def __init__(self, *, contacts: Callable[[str], Sequence[str]], trunk: Trunk | None = None,
                 allowed: Iterable[str] = ()) -> None:
        """``contacts(username)``: the registered contact URIs of an agent, best first (empty when not
        registered); ``allowed``: the operator's numbers that may be dialled through ``trunk``."""
        self._contacts = contacts
        self.trunk = trunk
        self.allowed = frozenset(
            _national(n) for n in (normalise_number(text) for text in allowed) if n is not None)

    def resolve_contact(self, contact: str, *, caller: str = "", did: str = "") -> Destination | Refusal:
        """The destination of an ACD agent contact: a registered contact URI (``sip:kefu01@10.0.0.7:5062``)
        or a mobile number the operator stored as the agent's contact (trusted like the allow list; it
        still needs the trunk)."""
        contact = contact.strip()
        if contact.lower().startswith(("sip:", "sips:")):
            try:
                uri = parse_uri(contact)
            except SipError:
                return Refusal(contact, "bad-contact")
            dest = (uri.host.strip("[]"), uri.port or (5061 if uri.scheme == "sips" else 5060))
            return Destination("agent", contact, contact, dest, did or caller)
        number = normalise_number(contact)
        if number is None:
            return Refusal(contact, "bad-contact")
        return self.resolve(number, flow_allowed=frozenset({_national(number)}), caller=caller, did=did)

    def resolve(self, target: str, *, flow_allowed: frozenset[str] = frozenset(), caller: str = "",
                did: str = "") -> Destination | Refusal:
        """The destination of ``target`` for a call from ``caller`` to ``did``; ``flow_allowed`` are
        the numbers of the call's own flow (:func:`flow_numbers`)."""
        target = target.strip()
        for contact in self._contacts(target) if target else ():
            try:
                uri = parse_uri(contact)
            except SipError:
                continue  # a broken stored binding: try the agent's next one
            dest = (uri.host.strip("[]"), uri.port or (5061 if uri.scheme == "sips" else 5060))
            return Destination("agent", target, contact, dest, did or caller)
        number = normalise_number(target)
        if number is None:
            return Refusal(target, "not-registered")
        national = _national(number)
        if national not in self.allowed and national not in flow_allowed:
            return Refusal(target, "not-allowed")
        trunk = self.trunk
        if trunk is None:
            return Refusal(target, "no-trunk")
        credentials = (trunk.username, trunk.password) if trunk.username and trunk.password else None
        from_user = (caller or did) if trunk.from_user == "caller" else (did or caller)
        request_uri = f"sip:{number}@{trunk.host}:{trunk.port}"
        return Destination("number", target, request_uri, (trunk.host, trunk.port), from_user, credentials)
