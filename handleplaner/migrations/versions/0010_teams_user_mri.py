"""The person's Teams id (MRI) next to the bot's conversation with them.

Adaptive Cards' ``refresh.userIds`` take Teams ids (``29:...``), not Entra object ids; the bot
learns a person's Teams id from the activities they send it.

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams_conversation") as batch_op:
        batch_op.add_column(sa.Column("user_mri", sqlmodel.sql.sqltypes.AutoString(length=256),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teams_conversation") as batch_op:
        batch_op.drop_column("user_mri")
