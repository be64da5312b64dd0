"""verdicts, item topics and stories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", BigId, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stories_last_seen_at", "stories", ["last_seen_at"])
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("story_id", BigId, nullable=True))
        batch.create_foreign_key(
            "fk_items_story_id", "stories", ["story_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_items_story_id", ["story_id"])
    op.create_table(
        "verdicts",
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("recommendations", sa.String(32), nullable=False),
        sa.Column("themes", sa.String(500), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(16), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_verdicts_relevant", "verdicts", ["relevant"])
    op.create_table(
        "item_topics",
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "topic_id"),
    )
    op.create_index("ix_item_topics_topic", "item_topics", ["topic_id", "item_id"])


def downgrade() -> None:
    op.drop_table("item_topics")
    op.drop_table("verdicts")
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_story_id")
        batch.drop_constraint("fk_items_story_id", type_="foreignkey")
        batch.drop_column("story_id")
    op.drop_index("ix_stories_last_seen_at", "stories")
    op.drop_table("stories")
