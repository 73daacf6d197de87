"""flow_graph: every node and edge of a flow, loops marked as back edges, a layered layout in which
forward edges point down and boxes never overlap."""

from __future__ import annotations

from waterline.calls.flow import parse_flow
from waterline.calls.flowgraph import FlowGraph, Layout, flow_graph
from waterline.calls.shipped import SHIPPED, shipped_flow

LOOP = """
name: loop
start: menu
nodes:
  menu:
    kind: menu
    say: [{prompt: menu}]
    options: {"1": order, "2": status, "0": agent}
    on_failure: bye
  order: {kind: play, say: [{text: 好的，马上为您送水。}], next: bye}
  status: {kind: play, say: [{text: 您没有订单。}], next: menu}
  agent: {kind: transfer, target: "13800000000", on_failure: bye}
  bye: {kind: hangup, say: [{prompt: goodbye}]}
  draft: {kind: play, next: bye}
"""


def _by_id(graph: FlowGraph) -> dict[str, tuple[int, float, float]]:
    return {n.id: (n.layer, n.x, n.y) for n in graph.nodes}


def _assert_well_drawn(graph: FlowGraph, layout: Layout) -> None:
    boxes = [(n.x, n.y) for n in graph.nodes]
    for index, (x, y) in enumerate(boxes):
        assert 0 <= x and x + layout.node_width <= graph.width
        assert 0 <= y and y + layout.node_height <= graph.height
        for other_x, other_y in boxes[index + 1:]:
            apart_x = abs(x - other_x) >= layout.node_width + layout.column_gap
            apart_y = abs(y - other_y) >= layout.node_height + layout.layer_gap
            assert apart_x or apart_y, f"boxes at {(x, y)} and {(other_x, other_y)} overlap"
    layer = {n.id: n.layer for n in graph.nodes}
    for edge in graph.edges:
        if not edge.back:
            assert layer[edge.target] > layer[edge.source], edge


def test_nodes_edges_labels_and_loops() -> None:
    graph = flow_graph(parse_flow(LOOP))
    assert [n.id for n in graph.nodes] == ["menu", "order", "status", "agent", "bye", "draft"]
    edges = {(e.source, e.label, e.target): e.back for e in graph.edges}
    assert edges == {
        ("menu", "failure", "bye"): False, ("menu", "1", "order"): False, ("menu", "2", "status"): False,
        ("menu", "0", "agent"): False, ("order", "", "bye"): False, ("status", "", "menu"): True,
        ("agent", "failure", "bye"): False, ("draft", "", "bye"): False,
    }
    nodes = {n.id: n for n in graph.nodes}
    assert nodes["menu"].start and nodes["menu"].layer == 0
    assert not nodes["draft"].reachable and nodes["order"].reachable
    # the shared end sits below every branch that reaches it
    assert nodes["bye"].layer == 2 and {nodes[n].layer for n in ("order", "status", "agent")} == {1}
    assert nodes["order"].summary == "好的，马上为您送水。" and nodes["bye"].summary == "♪ goodbye"
    assert nodes["agent"].summary == "→ 13800000000"
    _assert_well_drawn(graph, Layout())


def test_summaries_are_cut_to_the_box_counting_chinese_characters_double() -> None:
    long_text = LOOP.replace("好的，马上为您送水。", "好的，我们马上为您安排送水，请您保持电话畅通。")
    nodes = {n.id: n for n in flow_graph(parse_flow(long_text)).nodes}
    summary = nodes["order"].summary
    assert summary.endswith("…") and summary.startswith("好的，我们马上")
    assert len(summary) == 11  # ten characters of two columns and the ellipsis in 22 columns
    latin = LOOP.replace('target: "13800000000"', 'target: "{customer.station_phone_number_long}"')
    assert flow_graph(parse_flow(latin)).nodes[3].summary == "→ {customer.station_p…"


def test_a_node_looping_to_itself_is_a_back_edge() -> None:
    text = """
name: self
start: ask
nodes:
  ask: {kind: collect, into: code, next: ask, on_failure: bye}
  bye: {kind: hangup}
"""
    graph = flow_graph(parse_flow(text))
    edges = {(e.source, e.target, e.back) for e in graph.edges}
    assert edges == {("ask", "ask", True), ("ask", "bye", False)}
    assert _by_id(graph)["bye"][0] == 1


def test_layout_uses_the_given_sizes() -> None:
    layout = Layout(node_width=100, node_height=40, column_gap=10, layer_gap=20, margin=5, waypoint_gap=12)
    graph = flow_graph(parse_flow(LOOP), layout)
    lefts = [n.x for n in graph.nodes] + [x - 6 for e in graph.edges for x, _ in e.points]
    rights = [n.x + 100 for n in graph.nodes] + [x + 6 for e in graph.edges for x, _ in e.points]
    assert min(lefts) == 5 and max(rights) + 5 == graph.width
    assert graph.height == 2 * 5 + 3 * 60 - 20
    _assert_well_drawn(graph, layout)


def test_long_edges_pass_between_the_boxes_of_the_layers_they_cross() -> None:
    graph = flow_graph(parse_flow(LOOP))
    layout = Layout()
    nodes = {n.id: n for n in graph.nodes}
    # menu -> bye (on failure) and the unreachable draft -> bye skip layer 1
    long_edges = [e for e in graph.edges if not e.back and nodes[e.target].layer - nodes[e.source].layer > 1]
    assert {(e.source, e.target) for e in long_edges} == {("menu", "bye"), ("draft", "bye")}
    for edge in long_edges:
        assert len(edge.points) == nodes[edge.target].layer - nodes[edge.source].layer - 1
    assert all(e.points == () for e in graph.edges if e not in long_edges)
    for name in ("default", *SHIPPED):
        _assert_no_edge_through_a_box(flow_graph(shipped_flow(name)), layout)


def _assert_no_edge_through_a_box(graph: FlowGraph, layout: Layout) -> None:
    for edge in graph.edges:
        for x, y in edge.points:
            for node in graph.nodes:
                inside_y = node.y <= y <= node.y + layout.node_height
                inside_x = node.x <= x <= node.x + layout.node_width
                assert not (inside_x and inside_y), f"{edge.source}->{edge.target} crosses {node.id}"


def test_shipped_flows_lay_out_without_overlaps_and_crossings_shrink() -> None:
    for name in SHIPPED:
        graph = flow_graph(shipped_flow(name))
        flow = shipped_flow(name)
        assert {n.id for n in graph.nodes} == set(flow.nodes)
        assert len(graph.edges) == sum(len(list(node.targets())) for node in flow.nodes.values())
        _assert_well_drawn(graph, Layout())


def _crossings(graph: FlowGraph) -> int:
    """Crossings of edges between adjacent layers (the ones ordering can remove)."""
    where = {n.id: (n.layer, n.x) for n in graph.nodes}
    spans = [(where[e.source], where[e.target]) for e in graph.edges if not e.back]
    adjacent = [(a[1], b[1], a[0]) for a, b in spans if b[0] == a[0] + 1]
    return sum(
        1 for i, (x1, y1, l1) in enumerate(adjacent) for x2, y2, l2 in adjacent[i + 1:]
        if l1 == l2 and (x1 - x2) * (y1 - y2) < 0
    )


def test_ordering_untangles_a_crossed_menu() -> None:
    # discovery order puts z (reached from the menu first) left of w, under right and left: crossed
    text = """
name: crossed
start: top
nodes:
  top: {kind: menu, options: {"1": z, "2": right}, on_failure: left}
  left: {kind: play, next: w}
  right: {kind: play, next: z}
  z: {kind: hangup}
  w: {kind: hangup}
"""
    graph = flow_graph(parse_flow(text))
    assert _crossings(graph) == 0
    x = {n.id: n.x for n in graph.nodes}
    assert (x["left"] < x["right"]) == (x["w"] < x["z"])
