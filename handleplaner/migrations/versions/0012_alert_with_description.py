"""Whether the sender chose to send the incident's description with an alert.

Alerts no longer carry the description by default; existing alerts are marked as not having
chosen it, so a redrawn card of an old alert no longer shows it either.

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("with_description", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_column("with_description")
