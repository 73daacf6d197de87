"""Edge policy: who may talk to the endpoint without credentials.

Carrier trunks are recognised by source address (they never authenticate); everyone else is an agent's
phone and must pass digest authentication, or is refused. Loopback counts as the demo trunk so SIPp and
the demo run out of the box. REGISTER always needs credentials, even from a trunk address, because a
binding redirects calls. OPTIONS is open: it is the keepalive of every trunk and phone and reveals nothing
a 403 would not.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from waterline.sip.auth import AuthError, AuthOutcome, DigestServer, parse_credentials
from waterline.sip.message import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verdict(enum.Enum):
    """What to do with an out-of-dialog request."""

    ACCEPT = "accept"
    CHALLENGE = "challenge"  # answer 401 with a digest challenge unless valid credentials came along
    REFUSE = "refuse"  # 403 Forbidden


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """Parse trunk addresses ("203.0.113.7", "10.1.0.0/16", "::1"); raises ValueError on junk."""
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs if spec.strip())


@dataclass(frozen=True, slots=True)
class EdgePolicy:
    """Which sources are trusted trunks, and which methods are open to everyone."""

    trunks: tuple[Network, ...] = ()
    trust_loopback: bool = True
    open_methods: frozenset[str] = field(default_factory=lambda: frozenset({"OPTIONS"}))
    always_authenticate: frozenset[str] = field(default_factory=lambda: frozenset({"REGISTER"}))

    @classmethod
    def from_specs(cls, trunks: Iterable[str], *, trust_loopback: bool = True) -> EdgePolicy:
        """Build a policy from configuration strings."""
        return cls(trunks=parse_networks(trunks), trust_loopback=trust_loopback)

    def is_trunk(self, host: str) -> bool:
        """Whether ``host`` (an IP address literal, IPv6 with or without brackets) is a trusted trunk."""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False  # a name is never trusted: trust is by the packet's source address
        if self.trust_loopback and address.is_loopback:
            return True
        return any(address in network for network in self.trunks)

    def check(self, method: str, source_host: str, *, can_authenticate: bool) -> Verdict:
        """The verdict on an out-of-dialog ``method`` request from ``source_host``.

        ``can_authenticate`` says whether a digest server is configured; without one every request
        that would be challenged is refused instead.
        """
        return self.decide(method, trunk=self.is_trunk(source_host), can_authenticate=can_authenticate)

    def decide(self, method: str, *, trunk: bool, can_authenticate: bool) -> Verdict:
        """:meth:`check` for a caller that already knows whether the source is a trunk (and caches it)."""
        if method in self.always_authenticate:
            return Verdict.CHALLENGE if can_authenticate else Verdict.REFUSE
        if trunk or method in self.open_methods:
            return Verdict.ACCEPT
        return Verdict.CHALLENGE if can_authenticate else Verdict.REFUSE


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """The result of checking a request's credentials.

    ``user`` set: authenticated. Otherwise ``challenge`` holds the header lines of a 401 to send; with
    neither, the credentials were wrong and the answer is 403 (no endless retry loop for a bad password).
    """

    user: str | None = None
    challenge: tuple[tuple[str, str], ...] = ()

    @property
    def forbidden(self) -> bool:
        """Wrong credentials: answer 403."""
        return self.user is None and not self.challenge


class DigestAuthenticator:
    """Digest authentication of agents' requests (as a UAS: 401 + WWW-Authenticate / Authorization).

    ``lookup`` maps a user name to its stored HA1 values by algorithm (see ``auth.ha1_table``), or None
    for an unknown user.
    """

    def __init__(self, server: DigestServer, lookup: Callable[[str], Mapping[str, str] | None]) -> None:
        self.server = server
        self.lookup = lookup

    def check(self, request: Request, now: float) -> AuthDecision:
        """Verify the request's Authorization header, or say which challenge to send."""
        value = request.headers.get("Authorization")
        if value is None:
            return self._challenge(now, stale=False)
        try:
            credentials = parse_credentials(value)
        except AuthError:
            return self._challenge(now, stale=False)
        ha1 = self.lookup(credentials.username)
        if ha1 is None:
            return AuthDecision()
        outcome = self.server.verify(credentials, method=request.method, now=now, ha1=ha1)
        if outcome is AuthOutcome.ACCEPTED:
            return AuthDecision(user=credentials.username)
        if outcome is AuthOutcome.BAD_RESPONSE:
            return AuthDecision()
        return self._challenge(now, stale=outcome is AuthOutcome.STALE)

    def _challenge(self, now: float, *, stale: bool) -> AuthDecision:
        values = self.server.challenges(now, stale=stale)
        return AuthDecision(challenge=tuple(("WWW-Authenticate", value) for value in values))
