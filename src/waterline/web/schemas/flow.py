"""Call flows and 400 numbers (DIDs) as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from waterline.domain.flows import MAX_FLOW_TEXT, DidRoute, FlowSummary, FlowVersion


class FlowOut(BaseModel):
    """A flow: name, published (current) version, newest version, the numbers routed to it."""

    name: str
    current_version: int | None
    latest_version: int
    updated_at: datetime
    dids: list[str]

    @classmethod
    def of(cls, summary: FlowSummary, dids: list[str]) -> FlowOut:
        """The API view of ``summary``."""
        return cls(name=summary.name, current_version=summary.current_version,
                   latest_version=summary.latest_version, updated_at=summary.updated_at, dids=dids)


class FlowVersionOut(BaseModel):
    """One saved version; ``text`` (the YAML) only where asked for."""

    name: str
    version: int
    author: str
    created_at: datetime
    current: bool
    text: str | None = None

    @classmethod
    def of(cls, version: FlowVersion, *, current: int | None, with_text: bool) -> FlowVersionOut:
        """The API view of ``version``."""
        return cls(name=version.name, version=version.version, author=version.author,
                   created_at=version.created_at, current=version.version == current,
                   text=version.text if with_text else None)


class FlowVersionIn(BaseModel):
    """A new version: the flow's YAML; ``publish`` makes it current at once."""

    text: str = Field(min_length=1, max_length=MAX_FLOW_TEXT)
    publish: bool = False


class PublishIn(BaseModel):
    """Which version becomes current."""

    version: int = Field(ge=1)


class DidOut(BaseModel):
    """A dialled number and its flow."""

    did: str
    flow: str
    updated_at: datetime

    @classmethod
    def of(cls, route: DidRoute) -> DidOut:
        """The API view of ``route``."""
        return cls(did=route.did, flow=route.flow_name, updated_at=route.updated_at)


class DidIn(BaseModel):
    """The flow a number routes to."""

    flow: str = Field(min_length=1, max_length=64)
