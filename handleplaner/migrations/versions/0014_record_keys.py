"""The personal part of record entries, encrypted under a data key per incident and data class
(crypto-shredding): the table record_key and the column record_entry.detail. Existing entries
keep no personal part and hash as before.

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("data_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("destroyed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "data_class", name="uq_record_key_class"),
    )
    with op.batch_alter_table("record_key") as batch_op:
        batch_op.create_index(batch_op.f("ix_record_key_incident_id"), ["incident_id"],
                              unique=False)
    # A plain ADD COLUMN (no table copy): the record's append-only triggers stay in place.
    op.add_column("record_entry", sa.Column("detail", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("record_entry", "detail")
    with op.batch_alter_table("record_key") as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_key_incident_id"))
    op.drop_table("record_key")
