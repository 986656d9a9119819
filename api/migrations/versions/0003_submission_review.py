"""The pre-review (辅助审核) recorded with each submission.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A database adopted from create_all was completed from the models: it may have the column already.
    if 'review' in {c['name'] for c in sa.inspect(op.get_bind()).get_columns('submissions')}:
        return
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.add_column(sa.Column('review', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.drop_column('review')
