"""Signed-in sessions kept in the database, so that logging out ends them on every replica.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.create_index("ix_web_session_person_id", "web_session", ["person_id"])
    op.create_index("ix_web_session_expires_at", "web_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_session_expires_at", table_name="web_session")
    op.drop_index("ix_web_session_person_id", table_name="web_session")
    op.drop_table("web_session")
