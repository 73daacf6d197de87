"""Call flows (versioned), DIDs, call detail records, tasks, complaints, holiday overrides.

Written by hand to match ``adapters/db/{flows,calls,tasks,complaints,holidays}.py``;
``tests/adapters/db/test_calls.py`` checks the migrated schema against them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTCOMES = "'ivr-completed', 'order-placed', 'voicemail', 'transferred', 'abandoned', 'blocked', 'failed'"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _utc(name: str, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the call-flow and call-record tables."""
    op.create_table(
        "flows",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        _utc("updated_at", False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_flows")),
    )
    op.create_table(
        "flow_versions",
        _id(),
        sa.Column("flow_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        _utc("created_at", False),
        sa.ForeignKeyConstraint(["flow_name"], ["flows.name"], name=op.f("fk_flow_versions_flow_name_flows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("flow_name", "version", name=op.f("uq_flow_versions_flow_name_version")),
    )
    op.create_table(
        "dids",
        sa.Column("did", sa.String(20), nullable=False),
        sa.Column("flow_name", sa.String(64), nullable=False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(["flow_name"], ["flows.name"], name=op.f("fk_dids_flow_name_flows")),
        sa.PrimaryKeyConstraint("did", name=op.f("pk_dids")),
    )
    op.create_index("ix_dids_flow_name", "dids", ["flow_name"])
    op.create_table(
        "calls",
        _id(),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("did", sa.String(20), nullable=False),
        sa.Column("region_city", sa.String(32), nullable=True),
        sa.Column("region_source", sa.String(32), nullable=True),
        sa.Column("flow_name", sa.String(64), nullable=True),
        sa.Column("flow_version", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        _utc("started_at", False),
        _utc("answered_at", True),
        _utc("ended_at", True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("digits", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=False),
        sa.Column("talk_seconds", sa.Double(), nullable=False),
        sa.Column("total_seconds", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("hangup_side", sa.String(10), nullable=True),
        sa.Column("hangup_cause", sa.String(255), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"outcome IS NULL OR outcome IN ({_OUTCOMES})", name=op.f("ck_calls_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_calls_call_id")),
    )
    op.create_index("ix_calls_started_at_id", "calls", ["started_at", "id"])
    op.create_index("ix_calls_caller_started_at", "calls", ["caller", "started_at"])
    op.create_index("ix_calls_ended_at", "calls", ["ended_at"])
    op.create_table(
        "tasks",
        _id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _utc("created_at", False),
        _utc("done_at", True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'done')", name=op.f("ck_tasks_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_state_created_at", "tasks", ["state", "created_at"])
    op.create_table(
        "complaints",
        _id(),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _utc("created_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index("ix_complaints_created_at", "complaints", ["created_at"])
    op.create_index("ix_complaints_customer_id", "complaints", ["customer_id"])
    op.create_table(
        "holiday_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        _utc("updated_at", False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_holiday_overrides")),
    )


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("holiday_overrides")
    op.drop_index("ix_complaints_customer_id", table_name="complaints")
    op.drop_index("ix_complaints_created_at", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_tasks_state_created_at", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_calls_ended_at", table_name="calls")
    op.drop_index("ix_calls_caller_started_at", table_name="calls")
    op.drop_index("ix_calls_started_at_id", table_name="calls")
    op.drop_table("calls")
    op.drop_index("ix_dids_flow_name", table_name="dids")
    op.drop_table("dids")
    op.drop_table("flow_versions")
    op.drop_table("flows")
