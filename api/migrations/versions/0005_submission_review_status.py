"""The pre-review's status in its own indexed column, filled from the review kept since 0003: the staff console
lists submissions by review status, newest first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A database adopted from create_all was completed from the models: it may have the column already.
    if 'review_status' not in {c['name'] for c in sa.inspect(op.get_bind()).get_columns('submissions')}:
        with op.batch_alter_table('submissions') as batch_op:
            batch_op.add_column(sa.Column('review_status', sa.String(length=16), nullable=True))
    # the review is pydantic's compact JSON: its status is the first key
    for status in ('pass', 'needs_correction'):
        op.execute(sa.text("UPDATE submissions SET review_status = :s WHERE review_status IS NULL AND review LIKE :p")
                   .bindparams(s=status, p=f'{{"status":"{status}"%'))
    op.create_index('ix_submissions_review', 'submissions', ['review_status', 'submitted_at'], if_not_exists=True)
    op.create_index('ix_submissions_submitted', 'submissions', ['submitted_at'], if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_submissions_submitted', table_name='submissions')
    op.drop_index('ix_submissions_review', table_name='submissions')
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.drop_column('review_status')
