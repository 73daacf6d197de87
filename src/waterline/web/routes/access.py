"""Who may call the business routes: ``authorised(permission)`` and ``SignedIn``.

These once ended the login lookup's transaction so that it held no pooled connection while the
route's unit of work needed another (under load every worker thread held one connection and waited
for a second). ``web.deps.current_user`` now loads the user in a session of its own, closed at once,
and caches him briefly, so these are thin async aliases kept for the routes that use them.

This module has no ``router``: the app factory mounts nothing from it.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the dependencies
# at definition time.
from typing import Annotated, Any

from fastapi import Depends

from waterline.domain.users import Permission, User
from waterline.web.deps import CurrentUser, require


def authorised(permission: Permission) -> Any:
    """Like ``require(permission)``: the current user, 401/403 with bilingual messages otherwise."""
    return require(permission)


async def signed_in(user: CurrentUser) -> User:
    """Any logged-in user (401 otherwise); routes check roles further."""
    return user


SignedIn = Annotated[User, Depends(signed_in)]
