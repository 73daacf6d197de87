"""The hotline's work list: call-back tasks (tasks.handle: list, mark done) and complaint tickets
(complaints.read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from waterline.domain.tasks import TaskState
from waterline.domain.users import Permission, User
from waterline.services.worklist import complete_task
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.task import ComplaintOut, TaskOut

router = APIRouter(tags=["tasks"])

MAX_PAGE = 500


@router.get("/api/tasks")
def list_tasks(
    _user: Annotated[User, authorised(Permission.TASKS_HANDLE)],
    uow: UowDep,
    state: Annotated[TaskState | None, Query(description="状态（默认全部）/ state (default any)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TaskOut]:
    """Tasks (in one state when given: ``open`` is the work list), newest first."""
    with uow:
        return [TaskOut.of(task) for task in uow.tasks.search(state=state, limit=limit, offset=offset)]


@router.post("/api/tasks/{task_id}/done", responses={404: {"description": "未找到 / not found"},
                                                      409: {"description": "已完成 / done already"}})
def mark_done(
    task_id: int, user: Annotated[User, authorised(Permission.TASKS_HANDLE)], uow: UowDep,
    services: ServicesDep,
) -> TaskOut:
    """Mark a task done by the current user."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    return TaskOut.of(complete_task(uow, task_id, user_id=user.id, now=now))


@router.get("/api/complaints")
def list_complaints(
    _user: Annotated[User, authorised(Permission.COMPLAINTS_READ)],
    uow: UowDep,
    customer_id: Annotated[int | None, Query(description="客户 / customer")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ComplaintOut]:
    """Complaint tickets (of one customer when given), newest first."""
    with uow:
        found = uow.complaints.search(customer_id=customer_id, limit=limit, offset=offset)
        return [ComplaintOut.of(complaint) for complaint in found]
