"""Dialogs (RFC 3261 §12) and session timers (RFC 4028), sans-IO.

A :class:`Dialog` holds the state two UAs share for one call: the identifiers (Call-ID and both tags),
both CSeq spaces, the remote target from Contact and the route set from Record-Route. It builds the
requests sent inside the dialog (BYE, re-INVITE, INFO, UPDATE, the ACK for a 2xx) and checks the ones that
arrive. The Via is the endpoint's business: it passes its own, with a fresh branch, to ``create_request``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from waterline.sip.errors import RemoteProtocolError
from waterline.sip.headers import Headers, NameAddr, parse_name_addr, parse_params
from waterline.sip.message import Request, Response
from waterline.sip.uri import SipUri

DialogId = tuple[str, str, str]  # (Call-ID, local tag, remote tag)


class DialogState(enum.Enum):
    """§12: a dialog is early (after a 1xx with a To tag) or confirmed (after a 2xx)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def _with_tag(address: NameAddr, tag: str) -> NameAddr:
    params = dict(address.params)
    params["tag"] = tag
    return NameAddr(address.display_name, address.uri, params)


def _remote_target(message: Request | Response) -> SipUri | None:
    contacts = message.contacts
    return contacts[0].uri if contacts else None


class Dialog:
    """One dialog, from either side.

    Create it with :meth:`as_uas` (we received the INVITE) or :meth:`as_uac` (we sent it and a response
    with a To tag came back).
    """

    __slots__ = (
        "call_id",
        "local_tag",
        "remote_tag",
        "local",
        "remote",
        "remote_target",
        "route_set",
        "local_seq",
        "remote_seq",
        "secure",
        "is_uas",
        "state",
    )

    def __init__(
        self,
        *,
        call_id: str,
        local: NameAddr,
        remote: NameAddr,
        remote_target: SipUri,
        route_set: list[str],
        local_seq: int,
        remote_seq: int | None,
        secure: bool,
        is_uas: bool,
        state: DialogState,
    ) -> None:
        self.call_id = call_id
        self.local = local
        self.remote = remote
        self.local_tag = local.tag or ""
        self.remote_tag = remote.tag or ""
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.secure = secure
        self.is_uas = is_uas
        self.state = state

    @property
    def id(self) -> DialogId:
        """(Call-ID, local tag, remote tag)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, request: Request, local_tag: str, *, confirmed: bool = False) -> Dialog:
        """The dialog a UAS creates when it answers ``request`` with a To tag (§12.1.1).

        The route set is the Record-Route list in order; the remote target is the Contact.
        """
        target = _remote_target(request)
        if target is None:
            raise RemoteProtocolError("INVITE without Contact")
        return cls(
            call_id=request.call_id,
            local=_with_tag(request.to, local_tag),
            remote=request.from_,
            remote_target=target,
            route_set=request.headers.get_all("Record-Route"),
            local_seq=0,
            remote_seq=request.cseq.seq,
            secure=request.uri.scheme == "sips",
            is_uas=True,
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
        )

    @classmethod
    def as_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAC creates from a 1xx/2xx response carrying a To tag (§12.1.2).

        The route set is the Record-Route list reversed; the remote target is the response's Contact
        (or the Request-URI if an early response carried none).
        """
        target = _remote_target(response) or request.uri
        return cls(
            call_id=request.call_id,
            local=request.from_,
            remote=response.to,
            remote_target=target,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_seq=request.cseq.seq,
            remote_seq=None,
            secure=request.uri.scheme == "sips",
            is_uas=False,
            state=DialogState.CONFIRMED if 200 <= response.status < 300 else DialogState.EARLY,
        )

    # -- incoming requests -------------------------------------------------------------------------

    def accept_remote_cseq(self, request: Request) -> bool:
        """Record the CSeq of an in-dialog request; False if it is lower than the last one (§12.2.2: 500).

        ACK and CANCEL reuse their INVITE's number and are not checked.
        """
        if request.method in ("ACK", "CANCEL"):
            return True
        seq = request.cseq.seq
        if self.remote_seq is not None and seq < self.remote_seq:
            return False
        self.remote_seq = seq
        return True

    def refresh_target(self, message: Request | Response) -> None:
        """A target refresh request or its 2xx may move the remote target (§12.2)."""
        target = _remote_target(message)
        if target is not None:
            self.remote_target = target

    def confirm(self, response: Response | None = None) -> None:
        """A 2xx arrived (UAC) or was sent (UAS): the dialog is confirmed."""
        if self.state is DialogState.TERMINATED:
            return
        self.state = DialogState.CONFIRMED
        if response is not None and not self.is_uas:
            self.refresh_target(response)
            # §12.1.2: the route set is fixed by the 2xx, replacing whatever an early 1xx said
            self.route_set = list(reversed(response.headers.get_all("Record-Route")))

    def terminate(self) -> None:
        """The dialog is over (BYE sent or received, or the INVITE failed)."""
        self.state = DialogState.TERMINATED

    # -- outgoing requests -------------------------------------------------------------------------

    def next_hop(self) -> SipUri:
        """Where an in-dialog request goes first: the top route, else the remote target."""
        if self.route_set:
            return parse_name_addr(self.route_set[0]).uri
        return self.remote_target

    def create_request(
        self,
        method: str,
        *,
        via: str,
        contact: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> Request:
        """Build an in-dialog request (§12.2.1.1) with top Via ``via``.

        A new CSeq number is taken unless ``cseq`` is given (ACK, CANCEL reuse the INVITE's).
        """
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        uri = self.remote_target
        routes = self.route_set
        if routes:
            first = parse_name_addr(routes[0])
            if "lr" not in first.uri.params:
                # strict router (RFC 2543): it goes in the Request-URI and the target at the end
                uri = SipUri(first.uri.scheme, first.uri.user, None, first.uri.host, first.uri.port, {}, {})
                routes = [*routes[1:], f"<{self.remote_target}>"]
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        for route in routes:
            headers.add("Route", route)
        headers.add("From", str(self.local))
        headers.add("To", str(self.remote))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        if contact is not None:
            headers.add("Contact", contact)
        for name, value in extra:
            headers.add(name, value)
        if content_type is not None and body:
            headers.add("Content-Type", content_type)
        return Request(method, uri, headers, body)


# ---------------------------------------------------------------- session timers (RFC 4028)


@dataclass(frozen=True, slots=True)
class SessionExpires:
    """A parsed Session-Expires header value."""

    interval: int
    refresher: str | None  # "uac", "uas" or None

    def __str__(self) -> str:
        return f"{self.interval};refresher={self.refresher}" if self.refresher else str(self.interval)


def parse_session_expires(value: str) -> SessionExpires:
    """Parse ``1800;refresher=uac``; raises RemoteProtocolError when malformed."""
    number, _, rest = value.partition(";")
    number = number.strip()
    if not number.isdigit() or not number.isascii() or len(number) > 10:
        raise RemoteProtocolError("Malformed Session-Expires")
    params = parse_params(rest) if rest.strip() else {}
    refresher = (params.get("refresher") or "").lower() or None
    if refresher not in (None, "uac", "uas"):
        raise RemoteProtocolError("Malformed Session-Expires refresher")
    return SessionExpires(int(number), refresher)


def _min_se(message: Request | Response) -> int:
    value = message.headers.get("Min-SE")
    if value is None:
        return 0
    number = value.partition(";")[0].strip()
    return int(number) if number.isdigit() and len(number) <= 10 else 0


def supports(message: Request | Response, option: str) -> bool:
    """Whether the message lists ``option`` in Supported or Require."""
    tags = message.headers.get_all("Supported") + message.headers.get_all("Require")
    return any(tag.strip().lower() == option for tag in tags)


@dataclass(frozen=True, slots=True)
class SessionTimer:
    """A running session timer: we refresh at half the interval, or watch for the peer's refresh."""

    interval: int
    we_refresh: bool

    def next_deadline(self, since: float) -> float:
        """When to act, counted from the last refresh at ``since`` (RFC 4028 §10)."""
        if self.we_refresh:
            return since + self.interval / 2
        # the refresher's request may take up to 32 s to arrive (§10): give it that before BYE
        return since + self.interval - min(32.0, self.interval / 3)


@dataclass(frozen=True, slots=True)
class SessionTimerAnswer:
    """What a UAS decided about session timers for an INVITE/UPDATE."""

    timer: SessionTimer | None
    headers: tuple[tuple[str, str], ...]  # Session-Expires / Require to add to the 2xx
    too_small: bool = False  # answer 422 with Min-SE instead
    min_se: int = 0


def uas_session_timer(request: Request, *, min_se: int, default_interval: int | None) -> SessionTimerAnswer:
    """RFC 4028 §9: the UAS side of session-timer negotiation for a (re-)INVITE or UPDATE.

    With a Session-Expires below our Min-SE the answer is 422. Without one, a UAC that supports the
    extension gets our ``default_interval`` with itself as refresher; a UAC that does not gets no timer
    (we would have to refresh with re-INVITEs nobody asked for).
    """
    value = request.headers.get("Session-Expires")
    uac_supports = supports(request, "timer")
    if value is None:
        if not uac_supports or default_interval is None:
            return SessionTimerAnswer(None, ())
        interval = max(default_interval, min_se, _min_se(request))
        expires = SessionExpires(interval, "uac")
    else:
        offered = parse_session_expires(value)
        if offered.interval < min_se:
            return SessionTimerAnswer(None, (), too_small=True, min_se=min_se)
        refresher = offered.refresher or ("uac" if uac_supports else "uas")
        expires = SessionExpires(offered.interval, refresher)
    headers: tuple[tuple[str, str], ...] = (("Session-Expires", str(expires)),)
    if uac_supports:
        headers = (*headers, ("Require", "timer"))
    return SessionTimerAnswer(SessionTimer(expires.interval, expires.refresher == "uas"), headers)


def uac_session_timer(response: Response) -> SessionTimer | None:
    """RFC 4028 §7.2: the session timer a 2xx to our (re-)INVITE or UPDATE sets up, if any."""
    value = response.headers.get("Session-Expires")
    if value is None:
        return None
    expires = parse_session_expires(value)
    return SessionTimer(expires.interval, expires.refresher != "uas")

