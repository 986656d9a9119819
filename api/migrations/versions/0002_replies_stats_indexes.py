"""Two narrow indexes on replies for GET /v1/stats's aggregates (one GROUP BY, one latency histogram).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # if_not_exists: a database adopted from create_all may have made them with a new replies table.
    op.create_index("ix_replies_stats", "replies", ["intent", "route_kind", "channel", "fallback", "clarify",
                                                    "handoff", "low_confidence", "latency_ms"], if_not_exists=True)
    op.create_index("ix_replies_latency", "replies", ["latency_ms"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_replies_latency", table_name="replies")
    op.drop_index("ix_replies_stats", table_name="replies")
