"""Agents' SIP credentials for the registrar's digest check, read from the user store.

The web side keeps each agent's SIP password as HA1 values (``users add --sip-password``); the engine
looks them up by user name when a REGISTER (or an agent's INVITE) carries credentials. Lookups are
cached for a short time so a burst of REGISTERs, honest or hostile, does not become a burst of queries,
and a changed or revoked SIP password still takes effect within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from waterline.adapters.db.users import SipCredentials, UserRepository

_log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0
CACHE_SIZE = 4096

Fetch = Callable[[str], SipCredentials | None]


def fetch_from_store(session_factory: Callable[[], Session]) -> Fetch:
    """A fetcher reading one user's SIP credentials per call, in its own short session."""

    def fetch(username: str) -> SipCredentials | None:
        with session_factory() as session:
            return UserRepository(session).sip_credentials(username)

    return fetch


class AgentDirectory:
    """Maps a SIP user name to its HA1 values by algorithm ({"MD5": ..., "SHA-256": ...}), or None.

    ``clock`` is a monotonic clock in seconds; ``realm`` is the engine's digest realm: HA1 values made
    for another realm can never verify, so such a user counts as unknown.
    """

    def __init__(self, fetch: Fetch, realm: str, clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._realm = realm
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict[str, str] | None]] = OrderedDict()
        self.store_errors = 0

    def lookup(self, username: str) -> Mapping[str, str] | None:
        """HA1 values of ``username`` for the digest check, or None if it has no SIP credentials."""
        now = self._clock()
        cached = self._cache.get(username)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(username)
            return cached[1]
        try:
            credentials = self._fetch(username)
        except SQLAlchemyError:
            # The store is down or not migrated: refuse (403) rather than crash; do not cache the miss.
            self.store_errors += 1
            if self.store_errors <= 3:
                _log.exception("cannot read SIP credentials of %r", username)
            return None
        table: dict[str, str] | None = None
        if credentials is not None and credentials.realm == self._realm:
            table = {"MD5": credentials.ha1_md5, "SHA-256": credentials.ha1_sha256}
        self._cache[username] = (now + CACHE_SECONDS, table)
        self._cache.move_to_end(username)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return table
