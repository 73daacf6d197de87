"""Call flows as the business keeps them: named, versioned YAML documents, and the 400 numbers (DIDs)
that route to them.

Every save makes a new immutable version; one version per flow is published (current). A call looks up
the current version of its DID's flow once, at call start, and keeps it to the end, so publishing a new
version changes the next call and never a running one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from waterline.domain.errors import InvalidInput

FLOW_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# a DID is a nationwide 400/800 number or a landline/mobile the carrier presents, digits only
DID_PATTERN = re.compile(r"^[0-9]{5,20}$")
MAX_FLOW_TEXT = 256 * 1024


@dataclass(frozen=True, slots=True)
class FlowVersion:
    """One saved version of a flow; ``version`` counts 1, 2, ... per flow name."""

    id: int
    name: str
    version: int
    text: str
    author: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FlowSummary:
    """A flow: its name, the published version (None until one is) and the newest version number."""

    name: str
    current_version: int | None
    latest_version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DidRoute:
    """A dialled number (normalised digits) and the flow that answers it."""

    did: str
    flow_name: str
    updated_at: datetime


def check_flow_name(name: str) -> str:
    """``name`` if it is 1–64 lowercase letters, digits, ``-`` or ``_``; ``InvalidInput`` otherwise."""
    if not FLOW_NAME.match(name):
        raise InvalidInput("flow.bad_name", name=name)
    return name


def normalise_did(raw: str) -> str:
    """The digits of a dialled number (``400-636-0888`` → ``4006360888``); ``InvalidInput`` when odd.

    A leading ``+86`` is dropped: carriers present the request-URI user in either form.
    """
    text = raw.strip()
    if text.startswith("+86"):
        text = text[3:]
    digits = "".join(ch for ch in text if ch not in " -()")
    if not DID_PATTERN.match(digits):
        raise InvalidInput("did.invalid", raw=raw)
    return digits
