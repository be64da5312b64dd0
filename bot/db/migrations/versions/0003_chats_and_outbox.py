"""chats, their topics, the outbox and weekly charts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", BigId, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("alert_mode", sa.String(8), nullable=False),
        sa.Column("follow_all", sa.Boolean(), nullable=False),
        sa.Column("digest_frequency", sa.String(8), nullable=False),
        sa.Column("digest_weekday", sa.Integer(), nullable=False),
        sa.Column("digest_minute", sa.Integer(), nullable=False),
        sa.Column("empty_digest_note", sa.Boolean(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=True),
        sa.Column("next_digest_at", When, nullable=True),
        sa.Column("last_digest_end", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id"),
    )
    op.create_index("ix_chats_next_digest_at", "chats", ["next_digest_at"])
    op.create_table(
        "chat_topics",
        sa.Column("chat_pk", BigId, nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["chat_pk"], ["chats.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_pk", "topic_id"),
    )
    op.create_index("ix_chat_topics_topic", "chat_topics", ["topic_id"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, nullable=False),
        sa.Column("chat_pk", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("parse_mode", sa.String(8), nullable=True),
        sa.Column("chart_key", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", When, nullable=False),
        sa.Column("lease_until", When, nullable=True),
        sa.Column("lease_owner", sa.String(40), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When, nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["chat_pk"], ["chats.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_pk", "kind", "ref", "part", name="uq_outbox_delivery"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_chat_state", "outbox", ["chat_pk", "state", "id"])
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])
    op.create_table(
        "charts",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("file_id", sa.String(256), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("charts")
    op.drop_table("outbox")
    op.drop_table("chat_topics")
    op.drop_table("chats")
