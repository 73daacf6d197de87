"""Agents and queues: agent contacts, current states and their log, queues, members, the queue log.

Written by hand to match ``adapters/db/{agents,queues}.py``; ``tests/adapters/db/test_agents.py``
checks the migrated schema against them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the values of domain.agents.AgentState, spelled out: a migration must not change when code does
_STATES = "'logged_out', 'available', 'ringing', 'on_call', 'wrap_up', 'paused'"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _utc(name: str, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _to_users(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"))


def upgrade() -> None:
    """Create the agent and queue tables."""
    op.create_table(
        "agent_contacts",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('sip', 'mobile')", name=op.f("ck_agent_contacts_kind")),
        _to_users("agent_contacts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_contacts")),
        sa.UniqueConstraint("kind", "address", name=op.f("uq_agent_contacts_kind_address")),
    )
    op.create_index("ix_agent_contacts_user_id", "agent_contacts", ["user_id"])
    op.create_table(
        "agent_states",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        _utc("since", False),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_agent_states_state")),
        _to_users("agent_states"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_states")),
    )
    op.create_table(
        "agent_state_log",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _utc("at", False),
        sa.Column("from_state", sa.String(12), nullable=False),
        sa.Column("to_state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.CheckConstraint(f"to_state IN ({_STATES})", name=op.f("ck_agent_state_log_to_state")),
        _to_users("agent_state_log"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_log")),
    )
    op.create_index("ix_agent_state_log_user_id_at", "agent_state_log", ["user_id", "at"])
    op.create_index("ix_agent_state_log_at", "agent_state_log", ["at"])
    op.create_table(
        "queues",
        _id(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(12), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        _utc("updated_at", False),
        sa.CheckConstraint(
            "purpose IN ('orders', 'inquiries', 'complaints')", name=op.f("ck_queues_purpose")
        ),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name=op.f("fk_queues_station_id_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_queues_name")),
        sa.UniqueConstraint("station_id", "purpose", name=op.f("uq_queues_station_id_purpose")),
    )
    op.create_table(
        "queue_members",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.CheckConstraint("tier >= 0", name=op.f("ck_queue_members_tier")),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_queue_members_queue_id_queues")),
        _to_users("queue_members"),
        sa.PrimaryKeyConstraint("queue_id", "user_id", name=op.f("pk_queue_members")),
    )
    op.create_index("ix_queue_members_user_id", "queue_members", ["user_id"])
    op.create_table(
        "queue_log",
        _id(),
        _utc("at", False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("agent", sa.String(32), nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("wait", sa.Double(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_log")),
    )
    op.create_index("ix_queue_log_at", "queue_log", ["at"])
    op.create_index("ix_queue_log_queue_at", "queue_log", ["queue", "at"])
    op.create_index("ix_queue_log_call_id", "queue_log", ["call_id"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    for index, table in (
        ("ix_queue_log_call_id", "queue_log"),
        ("ix_queue_log_queue_at", "queue_log"),
        ("ix_queue_log_at", "queue_log"),
    ):
        op.drop_index(index, table_name=table)
    op.drop_table("queue_log")
    op.drop_index("ix_queue_members_user_id", table_name="queue_members")
    op.drop_table("queue_members")
    op.drop_table("queues")
    op.drop_index("ix_agent_state_log_at", table_name="agent_state_log")
    op.drop_index("ix_agent_state_log_user_id_at", table_name="agent_state_log")
    op.drop_table("agent_state_log")
    op.drop_table("agent_states")
    op.drop_index("ix_agent_contacts_user_id", table_name="agent_contacts")
    op.drop_table("agent_contacts")
