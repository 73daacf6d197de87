"""HTTP digest authentication for SIP (RFC 2617, RFC 7616 as profiled for SIP by RFC 8760).

Everything works on header *values* (strings), so the endpoint can plug it into any message type:

* ``WWW-Authenticate``/``Proxy-Authenticate`` values: :func:`parse_challenge`, :class:`Challenge`;
* ``Authorization``/``Proxy-Authorization`` values: :func:`parse_credentials`, :class:`Credentials`;
* server side: :class:`DigestServer` issues self-validating nonces (an HMAC over their issue time, so
  no table of issued nonces is needed), checks expiry (``stale=true``) and nonce-count replay with
  bounded memory, and verifies a response from a stored password or stored HA1 values;
* client side: :func:`answer_challenge` builds the ``Authorization`` value for our outbound legs.

Time is passed in as ``now`` (seconds; use wall-clock time so nonces survive a restart) and
randomness comes from an injected :class:`random.Random`.  Malformed header values raise
:class:`AuthError`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import random
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AuthError",
    "AuthOutcome",
    "Challenge",
    "Credentials",
    "DigestServer",
    "NonceStatus",
    "answer_challenge",
    "choose_challenge",
    "compute_ha1",
    "compute_response",
    "format_auth_params",
    "ha1_table",
    "make_cnonce",
    "parse_auth_params",
    "parse_challenge",
    "parse_credentials",
]


class AuthError(ValueError):
    """A digest header value is malformed, or a challenge cannot be answered."""


# Algorithm name (upper case, as compared) -> hashlib name.  "-sess" variants hash the nonce and
# cnonce into HA1 (RFC 7616 §3.4.2).
_HASHES = {"MD5": "md5", "SHA-256": "sha256"}
# Preference when a server offers several challenges (RFC 8760 §2.4: strongest first).
_STRENGTH = {"SHA-256": 2, "SHA-256-SESS": 2, "MD5": 1, "MD5-SESS": 1}


def _hash_name(algorithm: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    name = _HASHES.get(base)
    if name is None:
        raise AuthError(f"unsupported digest algorithm {algorithm!r}")
    return name


def _h(hash_name: str, text: str) -> str:
    return hashlib.new(hash_name, text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------
# auth-param lists


_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')


def _is_token(text: str) -> bool:
    return bool(text) and all(33 <= ord(c) < 127 and c not in _SEPARATORS for c in text)


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """Split a challenge or credentials value into its scheme and parameters.

    Parameter names are lower-cased; quoted-string values are unquoted with their backslash escapes
    removed.  Unquoted values are taken up to the next comma, so a client that forgets to quote a
    URI is still understood.  Raises :class:`AuthError` on a missing scheme, a parameter without
    ``=``, an unterminated quoted string or a repeated parameter.
    """
    text = value.strip()
    scheme_end = 0
    while scheme_end < len(text) and text[scheme_end] not in " \t\r\n":
        scheme_end += 1
    scheme = text[:scheme_end]
    if not _is_token(scheme):
        raise AuthError(f"missing or bad auth scheme in {value[:60]!r}")
    params: dict[str, str] = {}
    pos, end = scheme_end, len(text)
    while pos < end:
        # skip whitespace and empty list elements (RFC 7230 §7 allows ",,")
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end:
            break
        eq = text.find("=", pos)
        if eq < 0:
            raise AuthError(f"auth parameter without '=' near {text[pos : pos + 30]!r}")
        name = text[pos:eq].strip().lower()
        if not _is_token(name):
            raise AuthError(f"bad auth parameter name {name!r}")
        pos = eq + 1
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos < end and text[pos] == '"':
            param, pos = _read_quoted(text, pos)
            while pos < end and text[pos] in " \t\r\n":
                pos += 1
            if pos < end and text[pos] != ",":
                raise AuthError(f"junk after quoted value of {name!r}")
        else:
            comma = text.find(",", pos)
            stop = end if comma < 0 else comma
            param, pos = text[pos:stop].strip(), stop
            if not param:
                raise AuthError(f"empty value for auth parameter {name!r}")
        if name in params:
            raise AuthError(f"repeated auth parameter {name!r}")
        params[name] = param
    return scheme, params


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
        elif char == '"':
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    raise AuthError("unterminated quoted string")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_auth_params(scheme: str, params: Iterable[tuple[str, str, bool]]) -> str:
    """Serialise ``scheme name=value, ...``; each param is ``(name, value, quoted)``."""
    parts = [f"{name}={_quote(value) if quoted else value}" for name, value, quoted in params]
    return f"{scheme} " + ", ".join(parts)


def _require(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise AuthError(f"missing digest parameter {name!r}")
    return value


def _digest_params(value: str) -> dict[str, str]:
    scheme, params = parse_auth_params(value)
    if scheme.lower() != "digest":
        raise AuthError(f"not a Digest value (scheme {scheme!r})")
    return params


# ---------------------------------------------------------------------------------------------------
# challenges and credentials


@dataclass(frozen=True, slots=True)
class Challenge:
    """A Digest challenge (``WWW-Authenticate``/``Proxy-Authenticate`` value).

    ``qop`` is empty for a legacy RFC 2069 challenge; ``algorithm`` is upper-cased ("MD5",
    "SHA-256", "MD5-SESS" ...).
    """

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ("auth",)
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None

    def __str__(self) -> str:
        params: list[tuple[str, str, bool]] = [("realm", self.realm, True)]
        if self.domain is not None:
            params.append(("domain", self.domain, True))
        params.append(("nonce", self.nonce, True))
        if self.opaque is not None:
            params.append(("opaque", self.opaque, True))
        params.append(("algorithm", self.algorithm, False))
        if self.qop:
            params.append(("qop", ",".join(self.qop), True))
        if self.stale:
            params.append(("stale", "true", False))
        return format_auth_params("Digest", params)


def parse_challenge(value: str) -> Challenge:
    """Parse a ``WWW-Authenticate`` or ``Proxy-Authenticate`` Digest value."""
    params = _digest_params(value)
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=_require(params, "realm"),
        nonce=_require(params, "nonce"),
        algorithm=params.get("algorithm", "MD5").upper(),
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "false").lower() == "true",
        domain=params.get("domain"),
    )


@dataclass(frozen=True, slots=True)
class Credentials:
    """Digest credentials (``Authorization``/``Proxy-Authorization`` value).

    ``qop`` is None for a legacy response (then ``nc`` and ``cnonce`` are None too); ``nc`` is the
    nonce count as an integer.
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: int | None = None
    cnonce: str | None = None
    opaque: str | None = None

    def __str__(self) -> str:
        params: list[tuple[str, str, bool]] = [
            ("username", self.username, True),
            ("realm", self.realm, True),
            ("nonce", self.nonce, True),
            ("uri", self.uri, True),
            ("response", self.response, True),
            ("algorithm", self.algorithm, False),
        ]
        if self.cnonce is not None:
            params.append(("cnonce", self.cnonce, True))
        if self.opaque is not None:
            params.append(("opaque", self.opaque, True))
        if self.qop is not None:
            params.append(("qop", self.qop, False))
        if self.nc is not None:
            params.append(("nc", f"{self.nc:08x}", False))
        return format_auth_params("Digest", params)


def parse_credentials(value: str) -> Credentials:
    """Parse an ``Authorization`` or ``Proxy-Authorization`` Digest value.

    With ``qop`` present, ``nc`` (1-8 hex digits) and ``cnonce`` are required (RFC 7616 §3.4).
    """
    params = _digest_params(value)
    qop = params.get("qop")
    nc: int | None = None
    cnonce = params.get("cnonce")
    if qop is not None:
        qop = qop.lower()
        nc_text = _require(params, "nc")
        if not 1 <= len(nc_text) <= 8 or any(c not in "0123456789abcdefABCDEF" for c in nc_text):
            raise AuthError(f"bad nonce count {nc_text!r}")
        nc = int(nc_text, 16)
        if cnonce is None or not cnonce:
            raise AuthError("qop given without cnonce")
    return Credentials(
        username=_require(params, "username"),
        realm=_require(params, "realm"),
        nonce=_require(params, "nonce"),
        uri=_require(params, "uri"),
        response=_require(params, "response").lower(),
        algorithm=params.get("algorithm", "MD5").upper(),
        qop=qop,
        nc=nc,
        cnonce=cnonce,
        opaque=params.get("opaque"),
    )


# ---------------------------------------------------------------------------------------------------
# the digest formulas


def compute_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """HA1 = H(username:realm:password) for the base algorithm (no "-sess" step)."""
    return _h(_hash_name(algorithm), f"{username}:{realm}:{password}")


def ha1_table(
    username: str, realm: str, password: str, algorithms: Sequence[str] = ("SHA-256", "MD5")
) -> dict[str, str]:
    """The HA1 of a password for each algorithm, to store instead of the password itself."""
    return {alg.upper(): compute_ha1(alg, username, realm, password) for alg in algorithms}


def compute_response(
    *,
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: int | None = None,
    cnonce: str | None = None,
) -> str:
    """The request-digest (RFC 7616 §3.4.1) from HA1 for qop=auth or the legacy no-qop form.

    For a "-sess" algorithm ``ha1`` is the plain H(username:realm:password); the session step
    H(HA1:nonce:cnonce) is applied here.
    """
    hash_name = _hash_name(algorithm)
    if algorithm.upper().endswith("-SESS"):
        if cnonce is None:
            raise AuthError("a -sess algorithm needs a cnonce")
        ha1 = _h(hash_name, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _h(hash_name, f"{method}:{uri}")
    if qop is None:
        return _h(hash_name, f"{ha1}:{nonce}:{ha2}")
    if qop != "auth":
        raise AuthError(f"unsupported qop {qop!r}")
    if nc is None or cnonce is None:
        raise AuthError("qop=auth needs nc and cnonce")
    return _h(hash_name, f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")


# ---------------------------------------------------------------------------------------------------
# client side


def make_cnonce(rng: random.Random) -> str:
    """A fresh client nonce (64 random bits as hex) drawn from the injected generator."""
    return f"{rng.getrandbits(64):016x}"


def choose_challenge(values: Iterable[str]) -> Challenge:
    """Pick the strongest Digest challenge we can answer among several header values.

    Values that are not Digest, malformed, or use an algorithm or qop we lack are skipped; raises
    :class:`AuthError` if none is left.
    """
    best: Challenge | None = None
    for value in values:
        try:
            challenge = parse_challenge(value)
        except AuthError:
            continue
        strength = _STRENGTH.get(challenge.algorithm, 0)
        if strength == 0 or (challenge.qop and "auth" not in challenge.qop):
            continue
        if best is None or strength > _STRENGTH[best.algorithm]:
            best = challenge
    if best is None:
        raise AuthError("no usable Digest challenge")
    return best


def answer_challenge(
    challenge_value: str | Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """Build the ``Authorization`` (or ``Proxy-Authorization``) value answering a challenge.

    Uses qop=auth when the challenge offers it and the legacy RFC 2069 form when it offers no qop
    (then ``cnonce``/``nc`` are left out, unless a -sess algorithm needs the cnonce).  ``nc`` counts
    the requests sent with this nonce, starting at 1.  Raises :class:`AuthError` for an algorithm we
    do not implement or a challenge that offers only qop=auth-int.
    """
    challenge = (
        challenge_value if isinstance(challenge_value, Challenge) else parse_challenge(challenge_value)
    )
    if challenge.qop and "auth" not in challenge.qop:
        raise AuthError(f"challenge offers only qop {','.join(challenge.qop)!r}")
    if not 1 <= nc <= 0xFFFFFFFF:
        raise ValueError(f"nonce count out of range: {nc}")
    qop = "auth" if challenge.qop else None
    sess = challenge.algorithm.endswith("-SESS")
    response = compute_response(
        algorithm=challenge.algorithm,
        ha1=compute_ha1(challenge.algorithm, username, challenge.realm, password),
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc if qop else None,
        cnonce=cnonce if qop or sess else None,
    )
    credentials = Credentials(
        username=username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc if qop else None,
        cnonce=cnonce if qop or sess else None,
        opaque=challenge.opaque,
    )
    return str(credentials)


# ---------------------------------------------------------------------------------------------------
# server side


class NonceStatus(enum.Enum):
    """What a nonce is, as far as its own bytes and the clock can tell."""

    VALID = "valid"
    STALE = "stale"  # ours and intact, but older than the lifetime
    INVALID = "invalid"  # not ours, tampered with, or from the future


class AuthOutcome(enum.Enum):
    """The verdict on a request's credentials, and what the endpoint should do with it.

    ACCEPTED: go on.  STALE: right password, old nonce: challenge again with ``stale=True``.
    BAD_RESPONSE: wrong password (or wrong method/URI): 403, or a fresh challenge.  Every other
    outcome: a fresh challenge (401/407).
    """

    ACCEPTED = "accepted"
    STALE = "stale"
    BAD_RESPONSE = "bad-response"
    BAD_NONCE = "bad-nonce"
    REPLAY = "replay"
    WRONG_REALM = "wrong-realm"
    UNSUPPORTED = "unsupported"

    @property
    def ok(self) -> bool:
        """True only for ACCEPTED."""
        return self is AuthOutcome.ACCEPTED


_TS_BYTES, _SALT_BYTES, _MAC_BYTES = 8, 8, 16
_NONCE_BYTES = _TS_BYTES + _SALT_BYTES + _MAC_BYTES
_WINDOW = 64  # nonce counts accepted out of order, like an IPsec anti-replay window


class DigestServer:
    """Issues Digest challenges and verifies credentials for one realm.

    A nonce is ``base64url(issue-time-ms | 64 random bits | HMAC-SHA256(secret, realm | time | salt))``,
    so any node holding the secret can validate it without shared state.  Nonce counts are tracked
    per nonce in a 64-wide sliding window, for at most ``max_nonces`` nonces (least recently used
    evicted first); a nonce evicted before it expired can no longer be proved fresh, so it is then
    answered as stale and the client simply retries with a new one.
    """

    def __init__(
        self,
        *,
        realm: str,
        secret: bytes,
        rng: random.Random,
        nonce_lifetime: float = 300.0,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
        max_nonces: int = 10_000,
        allow_legacy: bool = False,
        clock_skew: float = 5.0,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the nonce secret must be at least 16 bytes")
        if not algorithms:
            raise ValueError("at least one algorithm is needed")
        for algorithm in algorithms:
            if algorithm.upper() not in _HASHES:
                raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        if max_nonces < 1 or nonce_lifetime <= 0:
            raise ValueError("max_nonces and nonce_lifetime must be positive")
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        self.algorithms = tuple(a.upper() for a in algorithms)
        self.allow_legacy = allow_legacy
        self._secret = secret
        self._rng = rng
        self._max_nonces = max_nonces
        self._clock_skew = clock_skew
        self._realm_bytes = realm.encode("utf-8")
        # nonce -> (issue time in ms, highest nc seen, bitmask of the window below it)
        self._counts: OrderedDict[str, tuple[int, int, int]] = OrderedDict()
        self._evicted_up_to = -1  # issue time (ms) of the newest nonce evicted before expiry

    def _mac(self, stamp: bytes) -> bytes:
        return hmac.new(self._secret, self._realm_bytes + b"\0" + stamp, hashlib.sha256).digest()[:_MAC_BYTES]

    def new_nonce(self, now: float) -> str:
        """A fresh nonce stamped with ``now`` (seconds)."""
        if now < 0:
            raise ValueError("now must not be negative")
        stamp = int(now * 1000).to_bytes(_TS_BYTES, "big") + self._rng.getrandbits(64).to_bytes(
            _SALT_BYTES, "big"
        )
        return base64.urlsafe_b64encode(stamp + self._mac(stamp)).decode("ascii").rstrip("=")

    def _issued_ms(self, nonce: str) -> int | None:
        """The nonce's issue time if it is one of ours and intact."""
        if len(nonce) != 43:  # 32 bytes in unpadded base64
            return None
        try:
            raw = base64.urlsafe_b64decode(nonce + "=")
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _NONCE_BYTES:
            return None
        stamp, mac = raw[: _TS_BYTES + _SALT_BYTES], raw[_TS_BYTES + _SALT_BYTES :]
        if not hmac.compare_digest(mac, self._mac(stamp)):
            return None
        return int.from_bytes(stamp[:_TS_BYTES], "big")

    def nonce_status(self, nonce: str, now: float) -> NonceStatus:
        """Whether ``nonce`` is one of ours and still fresh at ``now``."""
        issued = self._issued_ms(nonce)
        if issued is None or issued > (now + self._clock_skew) * 1000:
            return NonceStatus.INVALID
        if issued < (now - self.nonce_lifetime) * 1000:
            return NonceStatus.STALE
        return NonceStatus.VALID

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """Challenge values, one per algorithm (SHA-256 first by default), sharing one fresh nonce.

        Send each as its own ``WWW-Authenticate`` (401) or ``Proxy-Authenticate`` (407) header line.
        """
        nonce = self.new_nonce(now)
        return [
            str(Challenge(realm=self.realm, nonce=nonce, algorithm=algorithm, qop=("auth",), stale=stale))
            for algorithm in self.algorithms
        ]

    def verify(
        self,
        credentials: Credentials,
        *,
        method: str,
        now: float,
        password: str | None = None,
        ha1: Mapping[str, str] | None = None,
        request_uri: str | None = None,
    ) -> AuthOutcome:
        """Check credentials against the stored ``password`` or stored ``ha1`` values.

        ``ha1`` maps algorithm names ("SHA-256", "MD5") to H(username:realm:password), as made by
        :func:`ha1_table`.  ``method`` is the request's method (ACK and CANCEL are never
        challenged, RFC 3261 §22.1).  ``request_uri``, if given, must equal the
        credentials' ``uri``.  A successful qop=auth response consumes its nonce count.
        """
        if (password is None) == (ha1 is None):
            raise ValueError("give exactly one of password and ha1")
        if credentials.realm != self.realm:
            return AuthOutcome.WRONG_REALM
        algorithm = credentials.algorithm.upper()
        if algorithm not in self.algorithms:
            return AuthOutcome.UNSUPPORTED
        if credentials.qop is None:
            if not self.allow_legacy:
                return AuthOutcome.UNSUPPORTED
        elif credentials.qop != "auth" or credentials.cnonce is None or not credentials.nc:
            return AuthOutcome.UNSUPPORTED  # nc counts from 1
        status = self.nonce_status(credentials.nonce, now)
        if status is NonceStatus.INVALID:
            return AuthOutcome.BAD_NONCE
        if ha1 is not None:
            stored = ha1.get(algorithm)
            if stored is None:
                return AuthOutcome.UNSUPPORTED
            secret = stored.lower()
        else:
            assert password is not None
            secret = compute_ha1(algorithm, credentials.username, self.realm, password)
        if request_uri is not None and credentials.uri != request_uri:
            return AuthOutcome.BAD_RESPONSE
        expected = compute_response(
            algorithm=algorithm,
            ha1=secret,
            nonce=credentials.nonce,
            method=method,
            uri=credentials.uri,
            qop=credentials.qop,
            nc=credentials.nc,
            cnonce=credentials.cnonce,
        )
        if not hmac.compare_digest(expected, credentials.response.lower()):
            return AuthOutcome.BAD_RESPONSE
        if status is NonceStatus.STALE:
            return AuthOutcome.STALE
        if credentials.nc is None:
            return AuthOutcome.ACCEPTED  # legacy: nothing to count
        return self._count(credentials.nonce, credentials.nc, now)

    def _count(self, nonce: str, nc: int, now: float) -> AuthOutcome:
        entry = self._counts.get(nonce)
        if entry is None:
            issued = self._issued_ms(nonce)
            assert issued is not None  # checked by nonce_status
            if issued <= self._evicted_up_to:
                return AuthOutcome.STALE  # we may have forgotten its counts: make the client renew it
            entry = (issued, 0, 0)
        issued, highest, mask = entry
        if nc > highest:
            shift = nc - highest
            mask = ((mask << shift) | 1) & ((1 << _WINDOW) - 1) if shift < _WINDOW else 1
            highest = nc
        else:
            offset = highest - nc
            if offset >= _WINDOW or mask & (1 << offset):
                return AuthOutcome.REPLAY
            mask |= 1 << offset
        self._counts[nonce] = (issued, highest, mask)
        self._counts.move_to_end(nonce)
        self._evict(now)
        return AuthOutcome.ACCEPTED

    def _evict(self, now: float) -> None:
        expired_before = (now - self.nonce_lifetime) * 1000
        while self._counts:
            oldest_nonce, (issued, _, _) = next(iter(self._counts.items()))
            if issued < expired_before:
                # an expired nonce is refused as stale by its timestamp alone
                del self._counts[oldest_nonce]
            elif len(self._counts) > self._max_nonces:
                del self._counts[oldest_nonce]
                self._evicted_up_to = max(self._evicted_up_to, issued)
            else:
                break

    @property
    def tracked_nonces(self) -> int:
        """How many nonces currently have their counts remembered (bounded by ``max_nonces``)."""
        return len(self._counts)
