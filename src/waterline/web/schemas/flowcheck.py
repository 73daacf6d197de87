"""A flow text checked without saving: the problem (node, field, line) or the drawable graph."""

from __future__ import annotations

from pydantic import BaseModel, Field

from waterline.calls.flowgraph import FlowGraph
from waterline.domain.flows import MAX_FLOW_TEXT


class FlowCheckIn(BaseModel):
    """The YAML to check."""

    text: str = Field(min_length=1, max_length=MAX_FLOW_TEXT)


class FlowProblemOut(BaseModel):
    """Why the flow cannot run and where: ``node`` and ``field`` as the parser names them, ``line``
    (1-based) in the text when it can be found."""

    error: str
    message_zh: str
    message_en: str
    node: str | None
    field: str | None
    line: int | None


class DiagramNodeOut(BaseModel):
    """A node's box: top-left corner ``x``/``y``; ``summary`` tells what it says or does."""

    id: str
    kind: str
    summary: str
    layer: int
    x: float
    y: float
    start: bool
    reachable: bool


class DiagramEdgeOut(BaseModel):
    """An arrow; ``back`` arrows close a loop (drawn differently)."""

    source: str
    target: str
    field: str
    label: str
    back: bool
    points: list[tuple[float, float]]
    """Where a long arrow passes the rows it crosses (row middles, top to bottom)."""


class DiagramOut(BaseModel):
    """The whole drawing (SVG user units)."""

    width: float
    height: float
    node_width: float
    node_height: float
    nodes: list[DiagramNodeOut]
    edges: list[DiagramEdgeOut]

    @classmethod
    def of(cls, graph: FlowGraph, *, node_width: float, node_height: float) -> DiagramOut:
        """The API view of ``graph``."""
        return cls(
            width=graph.width, height=graph.height, node_width=node_width, node_height=node_height,
            nodes=[DiagramNodeOut(id=n.id, kind=n.kind, summary=n.summary, layer=n.layer, x=n.x, y=n.y,
                                  start=n.start, reachable=n.reachable) for n in graph.nodes],
            edges=[DiagramEdgeOut(source=e.source, target=e.target, field=e.field, label=e.label,
                                  back=e.back, points=list(e.points)) for e in graph.edges],
        )


class FlowCheckOut(BaseModel):
    """``valid`` when the flow can be saved; ``diagram`` whenever the text parses as a flow (also
    when only a prompt or the name is wrong), so the editor can keep drawing while one types."""

    valid: bool
    problem: FlowProblemOut | None
    unreachable: list[str]
    diagram: DiagramOut | None
