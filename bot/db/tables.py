"""SQLModel tables. Every change here needs an Alembic migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Table as CoreTable
from sqlmodel import Field, SQLModel

from bot.db.types import UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Table(SQLModel):
    """The base of every table below (the tables and their columns are unchanged by it)."""

    # Rows are built by the ORM, and a table model's constructor does not validate, so its
    # pydantic validator and serializer are built on first use (model_validate, model_dump)
    # instead of at import: building them for the eleven tables took 0.03-0.05 s of every
    # command's start-up, and `poll --once` never uses them.
    model_config = {"defer_build": True}

    @classmethod
    def core(cls) -> CoreTable:
        """The Core table behind this model: bulk statements on it skip the ORM's bookkeeping."""
        return cls.metadata.tables[str(cls.__tablename__)]


class Feed(Table, table=True):
    """A polled source: its catalog entry and its health."""

    __tablename__ = "feeds"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    url: str = Field(sa_column=Column(String(2048), nullable=False, unique=True))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    publisher: str = Field(sa_column=Column(String(32), nullable=False))
    language: str = Field(sa_column=Column(String(16), nullable=False))
    scope: str = Field(sa_column=Column(String(16), nullable=False))
    interval_seconds: int = Field(sa_column=Column(Integer, nullable=False))
    enabled: bool = True
    # "catalog" rows mirror feeds.yaml; "staff" rows were added from the bot or CLI.
    origin: str = Field(default="catalog", sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

    etag: str | None = Field(default=None, sa_column=Column(String(512)))
    last_modified: str | None = Field(default=None, sa_column=Column(String(128)))
    body_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    last_status: int | None = None
    last_checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_new_item_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    consecutive_errors: int = 0
    last_error_reason: str | None = Field(default=None, sa_column=Column(String(64)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    next_check_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    # A pause or resume from the bot (/feed_pause, /feed_resume): None follows feeds.yaml's
    # `enabled`; True or False wins over it when feeds.yaml is synced again (docs/staff.md).
    staff_enabled: bool | None = Field(default=None, sa_column=Column(Boolean))


class Item(Table, table=True):
    """One entry of a feed, stored once per (feed, key)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "key", name="uq_items_feed_key"),
        Index("ix_items_feed_url", "feed_id", "url"),
        Index("ix_items_feed_content_hash", "feed_id", "content_hash"),
        Index("ix_items_first_seen_at", "first_seen_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    feed_id: str = Field(
        sa_column=Column(String(64), ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(512), nullable=False))
    guid: str | None = Field(default=None, sa_column=Column(String(1024)))
    url: str | None = Field(default=None, sa_column=Column(String(2048)))
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    language: str = Field(sa_column=Column(String(16), nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    story_id: int | None = Field(
        default=None,
        sa_column=Column(BigId, ForeignKey("stories.id", ondelete="SET NULL"), index=True),
    )


class Story(Table, table=True):
    """Items from several outlets about the same event, within a 72-hour window."""

    __tablename__ = "stories"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    # Space-separated matching keys that characterise the story (see bot/matching/cluster.py).
    signature: str = Field(sa_column=Column(Text, nullable=False))
    item_count: int = Field(default=1, sa_column=Column(Integer, nullable=False))


class Verdict(Table, table=True):
    """The matcher's verdict on one item, and why."""

    __tablename__ = "verdicts"

    item_id: int = Field(
        sa_column=Column(BigId, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    )
    relevant: bool = Field(sa_column=Column(Boolean, nullable=False, index=True))
    score: float = Field(sa_column=Column(Float, nullable=False))
    urgent: bool = Field(sa_column=Column(Boolean, nullable=False))
    recommendations: str = Field(sa_column=Column(String(32), nullable=False))  # "R1,R3"
    themes: str = Field(sa_column=Column(String(500), nullable=False))  # "sanctions,war"
    why: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of hits
    rules_version: str = Field(sa_column=Column(String(16), nullable=False))
    matched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ItemTopic(Table, table=True):
    """One matched topic of a relevant item (for per-topic digests and counts)."""

    __tablename__ = "item_topics"
    __table_args__ = (Index("ix_item_topics_topic", "topic_id", "item_id"),)

    item_id: int = Field(
        sa_column=Column(BigId, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    )
    topic_id: str = Field(sa_column=Column(String(64), primary_key=True))


class Chat(Table, table=True):
    """A subscriber: a private chat, group, supergroup or channel, and only its settings.

    Deliberately no usernames, names, language codes or message texts (ADVERSARIAL G52).
    """

    __tablename__ = "chats"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # private, group, ...
    language: str = Field(default="en", sa_column=Column(String(8), nullable=False))
    timezone: str = Field(default="UTC", sa_column=Column(String(64), nullable=False))
    paused: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    alert_mode: str = Field(default="urgent", sa_column=Column(String(8), nullable=False))
    follow_all: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    digest_frequency: str = Field(default="weekly", sa_column=Column(String(8), nullable=False))
    digest_weekday: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    digest_minute: int = Field(default=9 * 60, sa_column=Column(Integer, nullable=False))
    empty_digest_note: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    keywords: str | None = Field(default=None, sa_column=Column(Text))
    next_digest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    last_digest_end: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ChatTopic(Table, table=True):
    """One topic a chat follows (when it does not follow all of them)."""

    __tablename__ = "chat_topics"
    __table_args__ = (Index("ix_chat_topics_topic", "topic_id"),)

    chat_pk: int = Field(
        sa_column=Column(BigId, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    )
    topic_id: str = Field(sa_column=Column(String(64), primary_key=True))


class OutboxRow(Table, table=True):
    """One message owed to one chat, under a key that makes enqueuing it twice a no-op."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("chat_pk", "kind", "ref", "part", name="uq_outbox_delivery"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_chat_state", "chat_pk", "state", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    chat_pk: int = Field(
        sa_column=Column(BigId, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # alert, digest, chart
    ref: str = Field(sa_column=Column(String(64), nullable=False))  # story:12, week:2026-W48
    part: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    state: str = Field(default="pending", sa_column=Column(String(12), nullable=False))
    priority: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))  # Telegram HTML, or a caption
    parse_mode: str | None = Field(default="HTML", sa_column=Column(String(8)))
    chart_key: str | None = Field(default=None, sa_column=Column(String(32)))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(40)))
    last_error: str | None = Field(default=None, sa_column=Column(String(200)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))


class Chart(Table, table=True):
    """A rendered weekly chart, shared by every chat that gets that week's digest."""

    __tablename__ = "charts"

    key: str = Field(sa_column=Column(String(32), primary_key=True))
    png: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Telegram's id for the uploaded photo: later sends reuse it instead of re-uploading.
    file_id: str | None = Field(default=None, sa_column=Column(String(256)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AuditEntry(Table, table=True):
    """One change made by a staff member, written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    staff_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # from STAFF_IDS
    action: str = Field(sa_column=Column(String(32), nullable=False))  # feed.pause, rule.add...
    target: str = Field(sa_column=Column(String(128), nullable=False))  # feed id, topic id...
    before: str | None = Field(default=None, sa_column=Column(Text))  # JSON, None: created
    after: str | None = Field(default=None, sa_column=Column(Text))  # JSON, None: removed
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class TopicRule(Table, table=True):
    """A topic's rules as edited in the bot; when a topic has rows, they replace feeds.yaml's."""

    __tablename__ = "topic_rules"

    topic_id: str = Field(sa_column=Column(String(64), primary_key=True))
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    rule: str = Field(sa_column=Column(Text, nullable=False))
    staff_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
