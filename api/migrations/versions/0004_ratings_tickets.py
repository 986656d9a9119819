"""好差评 ratings and tickets (工单) with their history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A database adopted from create_all was completed from the models: the tables may be there already.
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if 'ratings' not in have:
        op.create_table(
            'ratings',
            sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column('target', sa.String(16), nullable=False),
            sa.Column('level', sa.String(24), nullable=False),
            sa.Column('score', sa.Integer(), nullable=False),
            sa.Column('reasons', sa.Text(), nullable=False),
            sa.Column('comment_masked', sa.Text(), nullable=True),
            sa.Column('channel', sa.String(16), nullable=False),
            sa.Column('session_id', sa.String(64), nullable=True),
            sa.Column('reply_id', sa.String(32), nullable=True),
            sa.Column('receipt_no', sa.String(32), nullable=True),
            sa.Column('service_id', sa.String(96), nullable=True),
            sa.Column('service_title', sa.String(256), nullable=True),
            sa.Column('department', sa.String(128), nullable=True),
            sa.Column('ticket_no', sa.String(32), nullable=True),
            sa.Column('created_at', sa.DateTime(), nullable=False))
        op.create_index('ix_ratings_session_id', 'ratings', ['session_id'])
        op.create_index('ix_ratings_created_at', 'ratings', ['created_at'])
    if 'tickets' not in have:
        op.create_table(
            'tickets',
            sa.Column('ticket_no', sa.String(32), primary_key=True),
            sa.Column('kind', sa.String(16), nullable=False),
            sa.Column('channel', sa.String(16), nullable=False),
            sa.Column('session_id', sa.String(64), nullable=True),
            sa.Column('service_id', sa.String(96), nullable=True),
            sa.Column('service_title', sa.String(256), nullable=True),
            sa.Column('department', sa.String(128), nullable=True),
            sa.Column('description_masked', sa.Text(), nullable=False),
            sa.Column('points_masked', sa.Text(), nullable=True),
            sa.Column('consent', sa.Boolean(), nullable=False),
            sa.Column('contact_enc', sa.Text(), nullable=True),
            sa.Column('contact_mac', sa.String(64), nullable=True),
            sa.Column('status', sa.String(16), nullable=False),
            sa.Column('assignee', sa.String(64), nullable=True),
            sa.Column('due_at', sa.DateTime(), nullable=False),
            sa.Column('first_response_at', sa.DateTime(), nullable=True),
            sa.Column('closed_at', sa.DateTime(), nullable=True),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False))
        op.create_index('ix_tickets_session_id', 'tickets', ['session_id'])
        op.create_index('ix_tickets_status', 'tickets', ['status'])
        op.create_index('ix_tickets_created_at', 'tickets', ['created_at'])
    if 'ticket_events' not in have:
        op.create_table(
            'ticket_events',
            sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column('ticket_no', sa.String(32), sa.ForeignKey('tickets.ticket_no'), nullable=False),
            sa.Column('from_state', sa.String(16), nullable=True),
            sa.Column('to_state', sa.String(16), nullable=False),
            sa.Column('actor', sa.String(16), nullable=False),
            sa.Column('assignee', sa.String(64), nullable=True),
            sa.Column('note_masked', sa.Text(), nullable=True),
            sa.Column('created_at', sa.DateTime(), nullable=False))
        op.create_index('ix_ticket_events_ticket_no', 'ticket_events', ['ticket_no'])


def downgrade() -> None:
    op.drop_table('ticket_events')
    op.drop_table('tickets')
    op.drop_table('ratings')
