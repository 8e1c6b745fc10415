"""The incident record is append-only in the database itself, its chain head is kept on the
incident, and reads of personal data are logged.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
MESSAGE = "Hændelsesloggen er kun til tilføjelse: poster kan ikke ændres eller slettes"


def upgrade() -> None:
    op.create_table(
        "personal_data_read",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_personal_data_read_incident_id", "personal_data_read", ["incident_id"])
    op.create_index("ix_personal_data_read_person_id", "personal_data_read", ["person_id"])

    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("record_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("record_head", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=False, server_default=GENESIS))
    op.execute(
        "UPDATE incident SET "
        "record_seq = COALESCE((SELECT MAX(seq) FROM record_entry r "
        "WHERE r.incident_id = incident.id), 0), "
        f"record_head = COALESCE((SELECT hash FROM record_entry r WHERE r.incident_id = incident.id "
        f"ORDER BY seq DESC LIMIT 1), '{GENESIS}')")

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION record_entry_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER record_entry_append_only BEFORE UPDATE OR DELETE "
                   "ON record_entry FOR EACH ROW EXECUTE FUNCTION record_entry_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER record_entry_no_{verb.lower()} BEFORE {verb} "
                       f"ON record_entry BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER record_entry_append_only ON record_entry")
        op.execute("DROP FUNCTION record_entry_append_only()")
    else:
        op.execute("DROP TRIGGER record_entry_no_update")
        op.execute("DROP TRIGGER record_entry_no_delete")
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("record_head")
        batch.drop_column("record_seq")
    op.drop_index("ix_personal_data_read_person_id", table_name="personal_data_read")
    op.drop_index("ix_personal_data_read_incident_id", table_name="personal_data_read")
    op.drop_table("personal_data_read")
