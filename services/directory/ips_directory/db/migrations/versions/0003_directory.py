"""the directory: certificates from status events, profiles, centers, groups, audit trail

`certificate` is the read model of certification's status changes (`ips-directory
rebuild` fills it again from the stream). `profile`, `profile_term`, `center`,
`group_type` (the program's six types added here), `center_group` and `group_meeting` are
the directory's own data. `audit_entry` is `ips_shared.migration_steps`' trail.

Full-text search, for each of `profile`, `center` and `center_group` (their
`search_text`): on SQLite an FTS5 table of the same rowid, kept in step by triggers (a
later batch migration that copies one of these tables must make its triggers again); on
PostgreSQL a GIN index on `to_tsvector('simple', search_text)`, which the search queries
use as written.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ips_shared.db
from ips_shared.migration_steps import create_audit_trail_v1, drop_audit_trail_v1

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = {"profile": "profile_fts", "center": "center_fts", "center_group": "group_fts"}

BUILT_IN_GROUP_TYPES = {
    "art": "Art",
    "substance_use": "Substance use",
    "lgbtqia": "LGBTQIA+",
    "different_realities": "Exploring different experiences of reality",
    "peer_support": "Peer support",
    "employment": "Employment",
}


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    create_audit_trail_v1()
    op.create_table(
        "certificate",
        sa.Column("person_id", _text(64), nullable=False),
        sa.Column("number", _text(64), nullable=True),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("certified_since", sa.Date(), nullable=True),
        sa.Column("anniversary", sa.Date(), nullable=True),
        sa.Column("year_ends_on", sa.Date(), nullable=True),
        sa.Column("lapsed_since", sa.Date(), nullable=True),
        sa.Column("event_id", _text(128), nullable=False),
        sa.Column("changed_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", _text(64), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("display_name", _text(100), nullable=True),
        sa.Column("region", _text(80), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("about", _text(160), nullable=True),
        sa.Column("shown", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("region_key", _text(80), nullable=True),
        sa.Column("name_key", _text(100), nullable=True),
        sa.Column("changed_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", _text(200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
    )
    op.create_index("ix_profile_region_key", "profile", ["region_key"])
    op.create_index("ix_profile_name_key", "profile", ["name_key"])
    op.create_table(
        "profile_term",
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("value", _text(40), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["profile.id"]),
        sa.PrimaryKeyConstraint("profile_id", "kind", "value"),
    )
    op.create_index("ix_profile_term_kind_value", "profile_term", ["kind", "value"])
    op.create_table(
        "center",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", _text(32), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("town", _text(100), nullable=False),
        sa.Column("county", _text(80), nullable=False),
        sa.Column("county_key", _text(80), nullable=False),
        sa.Column("opening_hours", _text(500), nullable=False),
        sa.Column("rooms", sa.Text(), nullable=False),
        sa.Column("ages_served", _text(100), nullable=False),
        sa.Column("no_referral_or_insurance_needed", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("center_id"),
    )
    op.create_index("ix_center_county_key", "center", ["county_key"])
    group_type = op.create_table(
        "group_type",
        sa.Column("code", _text(40), nullable=False),
        sa.Column("label", _text(100), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.bulk_insert(
        group_type,
        [
            {"code": code, "label": label, "built_in": True}
            for code, label in BUILT_IN_GROUP_TYPES.items()
        ],
    )
    op.create_table(
        "center_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", _text(32), nullable=False),
        sa.Column("center_id", _text(32), nullable=False),
        sa.Column("type_code", _text(40), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("description", _text(1000), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["center_id"], ["center.center_id"]),
        sa.ForeignKeyConstraint(["type_code"], ["group_type.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id"),
    )
    op.create_index("ix_center_group_center_id", "center_group", ["center_id"])
    op.create_index("ix_center_group_type_code", "center_group", ["type_code"])
    op.create_table(
        "group_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", _text(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weekday", _text(10), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=True),
        sa.Column("first_month", sa.Date(), nullable=True),
        sa.Column("last_month", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["center_group.group_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "position", name="uq_group_meeting"),
    )
    op.create_index("ix_group_meeting_weekday", "group_meeting", ["weekday"])
    if op.get_bind().dialect.name == "postgresql":
        for table in SEARCHED:
            op.execute(
                f"CREATE INDEX ix_{table}_search ON {table}"
                " USING GIN (to_tsvector('simple', search_text))"
            )
    else:
        for table, fts in SEARCHED.items():
            for statement in _sqlite_full_text(table, fts):
                op.execute(statement)


def _sqlite_full_text(table: str, fts: str) -> list[str]:
    """An external-content FTS5 table over `table.search_text`, and the triggers keeping
    it in step (in the writing transaction)."""
    delete_old = (
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    )
    insert_new = f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}',"
        " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete_old} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table}"
        f" BEGIN {delete_old} {insert_new} END",
    ]


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for fts in SEARCHED.values():
            op.execute(f"DROP TABLE {fts}")  # its triggers go with the searched table
    op.drop_table("group_meeting")
    op.drop_table("center_group")
    op.drop_table("group_type")
    op.drop_table("center")
    op.drop_table("profile_term")
    op.drop_table("profile")
    op.drop_table("certificate")
    drop_audit_trail_v1()
