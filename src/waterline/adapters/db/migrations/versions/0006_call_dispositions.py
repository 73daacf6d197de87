"""Call dispositions: an agent's wrap-up code and notes per call.

Written by hand to match ``adapters/db/dispositions.py``; ``tests/adapters/db/test_dispositions.py``
checks the migrated schema against it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``call_dispositions``."""
    op.create_table(
        "call_dispositions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], name=op.f("fk_call_dispositions_agent_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_dispositions")),
        sa.UniqueConstraint("call_id", "agent_id", name=op.f("uq_call_dispositions_call_id_agent_id")),
    )
    op.create_index("ix_call_dispositions_agent_id_at", "call_dispositions", ["agent_id", "at"])


def downgrade() -> None:
    """Drop ``call_dispositions``."""
    op.drop_index("ix_call_dispositions_agent_id_at", table_name="call_dispositions")
    op.drop_table("call_dispositions")
