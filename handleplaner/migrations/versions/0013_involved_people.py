"""The people an incident concerns, as their own data class (involved_person), and the § 115
reasons for sharing the full version with a party outside the SSP parties (full_sharing).

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "involved_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("nicknames", sa.JSON(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("area_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["directory_person.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("involved_person") as batch_op:
        batch_op.create_index(batch_op.f("ix_involved_person_incident_id"), ["incident_id"],
                              unique=False)

    op.create_table(
        "full_sharing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("authority_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["directory_person.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "authority_code", name="uq_full_sharing_party"),
    )
    with op.batch_alter_table("full_sharing") as batch_op:
        batch_op.create_index(batch_op.f("ix_full_sharing_incident_id"), ["incident_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("full_sharing") as batch_op:
        batch_op.drop_index(batch_op.f("ix_full_sharing_incident_id"))
    op.drop_table("full_sharing")
    with op.batch_alter_table("involved_person") as batch_op:
        batch_op.drop_index(batch_op.f("ix_involved_person_incident_id"))
    op.drop_table("involved_person")
