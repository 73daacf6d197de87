"""Who may call the business routes, checked so that the login lookup holds no database connection.

``require`` (web.deps) loads the user through the request's session, whose transaction then keeps a
pooled connection until the response is sent, while the route opens a unit of work needing another
one. Under load every worker thread can end up holding one connection and waiting for a second:
the pool runs dry and requests stall until its timeout. These dependencies end that read-only
transaction (the connection goes back to the pool) before the route body runs.

This module has no ``router``: the app factory mounts nothing from it.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of ``check`` below,
# which refer to the closure's ``permission`` and must therefore be evaluated when it is defined.
from typing import Annotated, Any

from fastapi import Depends

from waterline.domain.users import Permission, User
from waterline.web.deps import CurrentUser, SessionDep, require


def authorised(permission: Permission) -> Any:
    """Like ``require(permission)`` (401/403 with bilingual messages), releasing the login's connection."""

    def check(user: Annotated[User, require(permission)], session: SessionDep) -> User:
        session.rollback()
        return user

    return Depends(check)


def signed_in(user: CurrentUser, session: SessionDep) -> User:
    """Any logged-in user (401 otherwise), releasing the login's connection; routes check roles further."""
    session.rollback()
    return user


SignedIn = Annotated[User, Depends(signed_in)]
