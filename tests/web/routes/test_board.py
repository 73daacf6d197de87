"""The dispatch board routes: snapshot, change feed, reassigning, who may see it (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from .conftest import Shop


def _board(shop: Shop, as_user: str = "dispatcher", **params: Any) -> Any:
    response = shop.get("/api/board", as_user=as_user, **params)
    assert response.status_code == 200, response.text
    return response.json()


def _changes(shop: Shop, after: int) -> Any:
    response = shop.get("/api/board/changes", as_user="dispatcher", after=after)
    assert response.status_code == 200, response.text
    return response.json()


def test_board_counts_orders_per_station_and_state(shop: Shop) -> None:
    customer = shop.customer()
    shop.order(customer["id"])
    placed = shop.order(customer["id"], auto_dispatch=False)
    board = _board(shop)
    yanta = next(c for c in board["stations"] if c["station"]["id"] == shop.ids["yanta"])
    assert yanta["counts"]["dispatched"] == 1 and yanta["counts"]["placed"] == 0
    assert [c["name"] for c in yanta["couriers"]] == ["王师傅"]
    # an order placed without dispatch has no station yet: it waits in the unassigned column
    assert board["unassigned"]["placed"] == 1
    by_id = {o["id"]: o for o in board["orders"]}
    assert by_id[placed["id"]]["state"] == "placed" and by_id[placed["id"]]["station_id"] is None
    dispatched = next(o for o in board["orders"] if o["state"] == "dispatched")
    assert dispatched["contact"]["name"] == "张伟" and dispatched["contact"]["phones"] == ["13912345678"]
    # the district centre of 雁塔区 puts the order on the map
    assert dispatched["lat"] is not None and 34 < dispatched["lat"] < 35 and 108 < dispatched["lon"] < 110
    assert dispatched["overdue"] is False and board["cursor"] > 0


def test_finished_orders_stay_on_the_board_without_the_contact(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])
    for step in ("delivering", "delivered"):
        moved = shop.post(f"/api/orders/{order['id']}/transitions", {"to": step}, as_user="courier")
        assert moved.status_code == 200, moved.text
    [done] = _board(shop)["orders"]
    assert (done["id"], done["state"], done["contact"], done["lat"]) == (order["id"], "delivered", None, None)
    yanta = next(c for c in _board(shop)["stations"] if c["station"]["id"] == shop.ids["yanta"])
    assert yanta["counts"]["delivered"] == 1


def test_overdue_orders_are_marked_against_their_eta(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])
    assert not _board(shop)["orders"][0]["overdue"]
    shop.clock.advance(minutes=180)
    [late] = _board(shop)["orders"]
    assert late["id"] == order["id"] and late["overdue"] is True
    yanta = next(c for c in _board(shop)["stations"] if c["station"]["id"] == shop.ids["yanta"])
    assert yanta["overdue"] == 1


def test_changes_bring_new_and_moved_orders_after_the_cursor(shop: Shop) -> None:
    customer = shop.customer()
    first = shop.order(customer["id"])
    cursor = _board(shop)["cursor"]
    shop.clock.advance(minutes=1)  # past the late-commit window: the old order is not sent again
    empty = _changes(shop, cursor)
    assert (empty["cursor"], empty["orders"]) == (cursor, [])
    new = shop.order(customer["id"])
    moved = _changes(shop, cursor)
    assert moved["cursor"] > cursor and [o["id"] for o in moved["orders"]] == [new["id"]]
    shop.clock.advance(minutes=1)
    response = shop.post(f"/api/orders/{first['id']}/transitions", {"to": "delivering"}, as_user="courier")
    assert response.status_code == 200, response.text
    later = _changes(shop, moved["cursor"])
    assert [(o["id"], o["state"]) for o in later["orders"]] == [(first["id"], "delivering")]


def test_changes_repeat_the_last_seconds_against_late_commits(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])
    cursor = _board(shop)["cursor"]
    # a transition with an id below the cursor, recorded moments ago, may have committed late
    assert [o["id"] for o in _changes(shop, cursor)["orders"]] == [order["id"]]


def test_reassign_moves_a_dispatched_order_to_another_courier(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])
    assert order["courier_id"] == shop.ids["wang"]
    url = f"/api/orders/{order['id']}/reassign"
    response = shop.post(url, {"courier_id": shop.ids["zhao"]}, "dispatcher")
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["courier_id"], moved["station_id"], moved["state"]) == (
        shop.ids["zhao"], shop.ids["weiyang"], "dispatched",
    )
    assert "赵师傅" in moved["transitions"][-1]["reason"]
    couriers = {c["id"]: c for c in shop.get("/api/couriers", as_user="dispatcher").json()}
    assert couriers[shop.ids["wang"]]["load"] == 0 and couriers[shop.ids["zhao"]]["load"] == 2
    again = shop.post(f"/api/orders/{order['id']}/reassign", {"courier_id": shop.ids["zhao"]}, "dispatcher")
    assert again.status_code == 409 and again.json()["message_zh"]


def test_only_dispatchers_and_up_see_the_board(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])
    for role in ("agent", "courier"):
        assert shop.get("/api/board", as_user=role).status_code == 403
        assert shop.get("/api/board/changes", as_user=role, after=0).status_code == 403
        denied = shop.post(f"/api/orders/{order['id']}/reassign", {"courier_id": shop.ids["zhao"]}, role)
        assert denied.status_code == 403
    for role in ("manager", "owner"):
        assert shop.get("/api/board", as_user=role).status_code == 200
    assert shop.client.get("/api/board").status_code == 401
