"""Check a flow's YAML without saving it (flows.read): the flow editor's inline errors and diagram.

Saving (``POST /api/flows/{name}/versions``) runs the same check and refuses what fails it; this
route only answers what is wrong and where (node, field, line) and how the flow looks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from waterline.calls.flow import Flow, FlowError, parse_flow
from waterline.calls.flowgraph import Layout, flow_graph
from waterline.calls.flowsource import error_line
from waterline.domain.flows import check_flow_name
from waterline.domain.users import Permission, User
from waterline.services.callflows import InvalidFlow, check_flow
from waterline.web.deps import SettingsDep
from waterline.web.routes.access import authorised
from waterline.web.routes.flows import prompt_names
from waterline.web.schemas.flowcheck import DiagramOut, FlowCheckIn, FlowCheckOut, FlowProblemOut

router = APIRouter(prefix="/api/flows", tags=["flows"])

LAYOUT = Layout()


def _problem(error: InvalidFlow, text: str) -> FlowProblemOut:
    return FlowProblemOut(
        error=error.code, message_zh=error.message_zh, message_en=error.message_en, node=error.node,
        field=error.field, line=error_line(text, error.node, error.field),
    )


@router.post("/{name}/check")
def check(
    name: str, body: FlowCheckIn, _user: Annotated[User, authorised(Permission.FLOWS_READ)],
    settings: SettingsDep,
) -> FlowCheckOut:
    """Validate ``text`` as flow ``name`` exactly as saving would (prompts included) and lay it out."""
    check_flow_name(name)
    flow: Flow | None
    try:
        flow = parse_flow(body.text)
    except FlowError:
        flow = None  # check_flow below reports it with node and field
    problem: FlowProblemOut | None = None
    try:
        check_flow(name, body.text, prompts=prompt_names(settings.data_dir))
    except InvalidFlow as error:
        problem = _problem(error, body.text)
    diagram = None
    if flow is not None:
        diagram = DiagramOut.of(flow_graph(flow, LAYOUT), node_width=LAYOUT.node_width,
                                node_height=LAYOUT.node_height)
    return FlowCheckOut(
        valid=problem is None, problem=problem, unreachable=list(flow.unreachable) if flow else [],
        diagram=diagram,
    )
