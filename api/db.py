"""Persistence: SQLAlchemy 2 tables for sessions, messages, replies, feedback, submissions, ratings and tickets.

SQLite (WAL, synchronous=FULL so a committed submission survives a crash) under ``data_dir`` by
default; PostgreSQL (``postgresql+psycopg://``, the ``postgres`` extra) through ``settings.api.database_url``.
The schema is made and changed by alembic migrations (``api.migrate``), never by ``create_all``. ID numbers and
phones never reach a column in clear text: free text is stored masked plus a Fernet-encrypted
original, form values and session state only encrypted."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    inspect,
    text,
    event,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from daoban.settings import Settings


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC (SQLite keeps no zone): say so on the way out."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)  # set by the first recorded turn
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state_enc: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted SessionState JSON
    # sha256 of the session secret: the secret itself is only ever known to the client it was issued to.
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # expired, personal data gone
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    text_masked: Mapped[str] = mapped_column(Text)
    text_enc: Mapped[str] = mapped_column(Text)
    reply_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ReplyRow(Base):
    __tablename__ = "replies"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="web")
    question_masked: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(32))
    intent_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    route_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    route_id: Mapped[str | None] = mapped_column(String(96), nullable=True, index=True)
    route_title: Mapped[str | None] = mapped_column(String(256), nullable=True)
    route_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cited_ids: Mapped[str] = mapped_column(Text, default="")  # space-separated doc ids
    clarify: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    reply_enc: Mapped[str] = mapped_column(Text)  # the whole Reply, encrypted (forms hold personal data)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)

    # GET /v1/stats reads these narrow indexes instead of the wide rows (0.35 s -> 0.09 s at 100k replies,
    # benchmarks/stats_bench.py).
    __table_args__ = (Index("ix_replies_stats", "intent", "route_kind", "channel", "fallback", "clarify", "handoff",
                            "low_confidence", "latency_ms"),
                      Index("ix_replies_latency", "latency_ms"))


class FeedbackRow(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reply_id: Mapped[str] = mapped_column(String(32), ForeignKey("replies.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    thumbs: Mapped[str | None] = mapped_column(String(8), nullable=True)  # up | down
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment_masked: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    receipt_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    form_id: Mapped[str] = mapped_column(String(96))
    scenario_id: Mapped[str] = mapped_column(String(96))
    scenario_title: Mapped[str] = mapped_column(String(256))
    departments: Mapped[str] = mapped_column(Text)  # JSON list
    promised_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="已受理")
    values_enc: Mapped[str] = mapped_column(Text)  # encrypted field values
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)  # the client's retry key
    # The pre-review at submission (辅助审核, agent.forms.review.PreReview as JSON): its messages quote no value.
    review: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The review's status alone (pass | needs_correction), so the staff console filters by it with an index.
    review_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("session_id", "idempotency_key", name="uq_submission_retry"),
                      Index("ix_submissions_review", "review_status", "submitted_at"),
                      Index("ix_submissions_submitted", "submitted_at"))


class RatingRow(Base):
    """One 好差评 (api/data/service_quality.yaml's five levels) of an answer, a submission or a hotline call."""
    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(16))  # answer | submission | hotline_call
    level: Mapped[str] = mapped_column(String(24))
    score: Mapped[int] = mapped_column(Integer)  # 5 非常满意 .. 1 非常不满意
    reasons: Mapped[str] = mapped_column(Text, default="")  # space-separated reason ids
    comment_masked: Mapped[str | None] = mapped_column(Text, nullable=True)
    channel: Mapped[str] = mapped_column(String(16), default="web")
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    reply_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    receipt_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    service_id: Mapped[str | None] = mapped_column(String(96), nullable=True)
    service_title: Mapped[str | None] = mapped_column(String(256), nullable=True)
    department: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ticket_no: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the 整改 ticket a bad rating opened
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class TicketRow(Base):
    """A complaint, an 办不成事 report or a 差评's 整改 item, from 收到 to 回访."""
    __tablename__ = "tickets"
    ticket_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # who opened it
    service_id: Mapped[str | None] = mapped_column(String(96), nullable=True)
    service_title: Mapped[str | None] = mapped_column(String(256), nullable=True)
    department: Mapped[str | None] = mapped_column(String(128), nullable=True)
    description_masked: Mapped[str] = mapped_column(Text)
    points_masked: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list: a call's 要点
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_enc: Mapped[str | None] = mapped_column(Text, nullable=True)  # only with consent
    contact_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)  # for the number + contact check
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime)  # first response due
    first_response_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class TicketEventRow(Base):
    """A ticket's history: each move of its lifecycle, with who moved it and a masked note."""
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_no: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_no"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(16))  # citizen | hotline | staff
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note_masked: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DataDirError(RuntimeError):
    """The data folder cannot hold the database: the message says what to do."""


def database_url(settings: Settings) -> str:
    if settings.api.database_url:
        return settings.api.database_url
    return f"sqlite:///{sqlite_path(settings)}"


def sqlite_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "daoban.sqlite3"


def check_data_dir(settings: Settings) -> None:
    """Create the data folder if needed and prove it writable, or raise one line that says what to do."""
    folder = Path(settings.data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(f"the data folder {folder} is not writable ({exc.strerror or exc}): fix its permissions "
                           "or point DAOBAN_DATA_DIR at a writable folder") from None


def _private_sqlite_files(path: Path) -> None:
    """The database holds citizens' data: owner-only, like the key beside it (SQLite gives -wal/-shm the
    main file's mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            os.chmod(p, 0o600)


def legacy_catch_up(conn: Connection) -> None:
    """A database made by ``create_all`` before migrations (``api.migrate`` stamps it afterwards): add the
    nullable columns later versions declared and drop the retired tables, so it matches the baseline
    revision and keeps its data. Every later change is a migration."""
    found = inspect(conn)
    for table in Base.metadata.sorted_tables:
        if not found.has_table(table.name):
            continue
        have = {c["name"] for c in found.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have and column.nullable:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))
    for name in _RETIRED_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    # It is completed to the models, so every later revision must find its change may be there already
    # (if_not_exists, or a look first); tests/test_api_migrations.py checks the adopted schema equals the models.
    Base.metadata.create_all(conn)


# form_drafts: a second copy of each form draft until issue 14 (the draft lives in the session state now). Its
# rows hold personal data nothing reads or erases any more, so an upgraded database drops it.
_RETIRED_TABLES = ("form_drafts",)


def make_engine(settings: Settings, migrate: bool = True) -> Engine:
    url = database_url(settings)
    if url.startswith("sqlite"):
        check_data_dir(settings)
        _private_sqlite_files(sqlite_path(settings))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # commit reaches the disk before we answer
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        # up to one connection per request in flight (the server's thread pool: 40); session locks have their own
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)
    if migrate:
        from api.migrate import upgrade

        upgrade(engine)  # no-op at the newest revision; several workers starting at once take turns
    if url.startswith("sqlite"):
        _private_sqlite_files(sqlite_path(settings))
    return engine


def database_ok(engine: Engine, settings: Settings) -> str | None:
    """None when a real query on the sessions table works, else why not (for /readyz)."""
    if database_url(settings).startswith("sqlite") and not sqlite_path(settings).exists():
        return f"数据库文件 {sqlite_path(settings).name} 不存在"
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM sessions WHERE id = ''")).scalar()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"数据库查询失败：{type(exc).__name__}"
    return None


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
