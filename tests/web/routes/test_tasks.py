"""/api/tasks (list, mark done) and /api/complaints, with roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from waterline.domain.tasks import Complaint, Task, TaskKind

from .conftest import Shop

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_tasks_list_and_done(shop: Shop) -> None:
    with shop.uow_factory() as uow:
        voicemail = uow.tasks.add(Task(TaskKind.MISSED_CALL, "13912345678", T0, call_id="c1", recording_id=4))
        other = uow.tasks.add(Task(TaskKind.MISSED_CALL, "02988881234", T0 + timedelta(minutes=5)))
        uow.commit()
    listed = shop.get("/api/tasks", as_user="agent").json()
    assert [t["id"] for t in listed] == [other.id, voicemail.id]
    assert listed[1]["recording_url"] == "/api/recordings/4/audio" and listed[1]["state"] == "open"
    done = shop.post(f"/api/tasks/{voicemail.id}/done", {}, as_user="agent")
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert done.json()["done_by"] == shop.users["agent"]
    assert shop.post(f"/api/tasks/{voicemail.id}/done", {}, as_user="agent").status_code == 409
    assert shop.post("/api/tasks/99999/done", {}, as_user="agent").status_code == 404
    still_open = shop.get("/api/tasks", as_user="agent", state="open").json()
    assert [t["id"] for t in still_open] == [other.id]
    assert shop.get("/api/tasks", as_user="courier").status_code == 403


def test_complaints_listed_for_dispatchers(shop: Shop) -> None:
    with shop.uow_factory() as uow:
        uow.complaints.add(Complaint("late", "13912345678", T0, call_id="c9", customer_id=None))
        uow.commit()
    listed = shop.get("/api/complaints", as_user="dispatcher")
    assert listed.status_code == 200
    assert [(c["reason"], c["call_id"]) for c in listed.json()] == [("late", "c9")]
    assert shop.get("/api/complaints", as_user="agent").status_code == 403
