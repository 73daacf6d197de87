"""Registrar binding table (RFC 3261 §10.3): pure, with time as an argument and an injected store.

Bindings are kept in memory and written through the ``RegistrationStore`` port after every change,
so a restart that calls ``load_all()`` keeps the agents reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from waterline.sip.errors import RemoteProtocolError
from waterline.sip.message import Request, Response, make_response


@dataclass(frozen=True, slots=True)
class Binding:
    """One contact bound to an address of record."""

    contact: str  # the contact URI, serialised
    expires_at: float
    call_id: str
    cseq: int
    q: float = 1.0

    def remaining(self, now: float) -> int:
        """Whole seconds left before the binding lapses (never negative)."""
        return max(0, int(self.expires_at - now + 0.5))


class RegistrationStore(Protocol):
    """Persistence port for bindings (an adapter implements it over the database)."""

    def load_all(self) -> dict[str, list[Binding]]:
        """Every stored address of record with its bindings."""
        ...

    def save(self, aor: str, bindings: list[Binding]) -> None:
        """Replace the bindings of ``aor``; an empty list deletes it."""
        ...


class Registrar:
    """Processes REGISTER requests against the binding table."""

    def __init__(
        self,
        store: RegistrationStore,
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
    ) -> None:
        self._store = store
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self._table: dict[str, list[Binding]] = {aor: list(b) for aor, b in store.load_all().items() if b}

    def register(self, request: Request, now: float, *, to_tag: str | None = None) -> Response:
        """Apply a REGISTER and return the response (200 with the current bindings, 400, 423 or 500)."""
        try:
            return self._register(request, now, to_tag)
        except RemoteProtocolError as error:
            return make_response(request, error.status, error.reason, to_tag=to_tag)

    def _register(self, request: Request, now: float, to_tag: str | None) -> Response:
        aor = request.to.uri.address_of_record()
        call_id = request.call_id
        cseq = request.cseq.seq
        current = [b for b in self._table.get(aor, []) if b.expires_at > now]
        header_expires = self._header_expires(request)
        if request.contact_is_wildcard:
            if header_expires != 0:
                raise RemoteProtocolError("Wildcard Contact requires Expires: 0")
            self._check_order(current, call_id, cseq)
            return self._commit(request, aor, [], now, to_tag)
        updated = list(current)
        for contact in request.contacts:
            uri = str(contact.uri)
            expires = self._contact_expires(contact.params.get("expires"), header_expires)
            if 0 < expires < self.min_expires:
                response = make_response(request, 423, to_tag=to_tag)
                response.headers.add("Min-Expires", str(self.min_expires))
                return response
            expires = min(expires, self.max_expires)
            existing = next((b for b in updated if b.contact == uri), None)
            if existing is not None:
                self._check_order([existing], call_id, cseq)
                updated.remove(existing)
            if expires > 0:
                q = _parse_q(contact.params.get("q"))
                updated.append(Binding(uri, now + expires, call_id, cseq, q))
        if updated == current and len(current) == len(self._table.get(aor, [])):
            return self._ok(request, current, now, to_tag)
        return self._commit(request, aor, updated, now, to_tag)

    def _header_expires(self, request: Request) -> int | None:
        try:
            return request.expires
        except RemoteProtocolError:
            return None  # §20.19: a malformed Expires counts as absent

    def _contact_expires(self, param: str | None, header: int | None) -> int:
        if param is not None and param.isdigit() and param.isascii() and len(param) <= 10:
            return int(param)
        if header is not None:
            return header
        return self.default_expires

    @staticmethod
    def _check_order(bindings: list[Binding], call_id: str, cseq: int) -> None:
        # §10.3 step 7: a REGISTER older than the one that made a binding must not undo it
        for binding in bindings:
            if binding.call_id == call_id and cseq <= binding.cseq:
                raise RemoteProtocolError("Out-of-order REGISTER", 500)

    def _commit(
        self, request: Request, aor: str, bindings: list[Binding], now: float, to_tag: str | None
    ) -> Response:
        if bindings:
            self._table[aor] = bindings
        else:
            self._table.pop(aor, None)
        self._store.save(aor, list(bindings))
        return self._ok(request, bindings, now, to_tag)

    @staticmethod
    def _ok(request: Request, bindings: list[Binding], now: float, to_tag: str | None) -> Response:
        response = make_response(request, 200, to_tag=to_tag)
        for binding in bindings:
            response.headers.add("Contact", f"<{binding.contact}>;expires={binding.remaining(now)}")
        return response

    def lookup(self, aor: str, now: float) -> list[Binding]:
        """Live bindings of ``aor`` (an ``address_of_record()`` string), highest q first."""
        live = [b for b in self._table.get(aor, []) if b.expires_at > now]
        return sorted(live, key=lambda b: -b.q)

    def lookup_user(self, user: str, now: float) -> list[Binding]:
        """Live bindings of every address of record whose user part is ``user`` (an agent's SIP
        username, whatever host its phone registered against), highest q first."""
        live = [b for aor, bindings in self._table.items() if aor.partition(":")[2].partition("@")[0] == user
                for b in bindings if b.expires_at > now]
        return sorted(live, key=lambda b: -b.q)

    def expire(self, now: float) -> list[str]:
        """Drop lapsed bindings and persist the change; return the addresses of record that changed."""
        changed: list[str] = []
        for aor in list(self._table):
            bindings = self._table[aor]
            live = [b for b in bindings if b.expires_at > now]
            if len(live) != len(bindings):
                changed.append(aor)
                if live:
                    self._table[aor] = live
                else:
                    del self._table[aor]
                self._store.save(aor, live)
        return changed

    def next_expiry(self) -> float | None:
        """When the earliest binding lapses (for the driver's timer), or None when empty."""
        times = [b.expires_at for bindings in self._table.values() for b in bindings]
        return min(times) if times else None


def _parse_q(value: str | None) -> float:
    if value is None:
        return 1.0
    try:
        q = float(value)
    except ValueError:
        raise RemoteProtocolError("Invalid q value") from None
    if not 0.0 <= q <= 1.0:
        raise RemoteProtocolError("Invalid q value")
    return q
