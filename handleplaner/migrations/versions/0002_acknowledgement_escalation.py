"""acknowledgement, escalation, follow-ups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:01:27.791930
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_ack', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('quorum_per_authority', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalate_after_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('parent_alert_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('audience', sa.Text(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='aktiv'))
        batch_op.add_column(sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key('fk_alert_parent_alert_id', 'alert', ['parent_alert_id'], ['id'])

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('on_behalf_of', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_foreign_key('fk_delivery_on_behalf_of', 'directory_person', ['on_behalf_of'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint('fk_delivery_on_behalf_of', type_='foreignkey')
        batch_op.drop_column('on_behalf_of')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint('fk_alert_parent_alert_id', type_='foreignkey')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('state')
        batch_op.drop_column('audience')
        batch_op.drop_column('parent_alert_id')
        batch_op.drop_column('escalate_after_s')
        batch_op.drop_column('quorum_per_authority')
        batch_op.drop_column('requires_ack')

