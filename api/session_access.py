"""Who may enter a session: only the server issues session ids, and only the holder of the session secret
(or a hotline / staff key) reads or changes a session, its drafts or its submissions.

The secret is a random token returned once, in the ``X-Session-Token`` header of the response that created
the session; the database keeps its sha256 only. Idle sessions expire: the secret stops working and the
session's personal data (state, drafts, transcript text, stored replies) is erased."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading

from fastapi import Request
from sqlalchemy import select, update

from api.deps import key_role
from api.db import MessageRow, ReplyRow, SessionRow, new_id, utcnow
from api.errors import ApiError
from api.runtime import Runtime

log = logging.getLogger("daoban.api")

TOKEN_HEADER = "X-Session-Token"
ERASED = ""  # what an erased encrypted column holds


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _live_row(rt: Runtime, session_id: str) -> SessionRow | None:
    """The session's row while it is live (not erased, not idle past the limit), else None."""
    with rt.db() as s:
        row = s.get(SessionRow, session_id)
    idle = dt.timedelta(minutes=rt.settings.api.session_idle_minutes)
    if row is None or row.erased_at is not None or (row.updated_at or row.created_at) < utcnow() - idle:
        return None
    return row


def _require_holder(rt: Runtime, request: Request, session_id: str, row: SessionRow | None,
                    keys: bool = True) -> None:
    """403 unless the request holds this live session's secret or (``keys``) a hotline/staff key. One answer for
    an unknown, expired or foreign id, so the endpoint tells a stranger nothing."""
    if keys and key_role(request, rt.settings) in ("hotline", "staff"):  # their keys keep their access
        with rt.db() as s:
            if s.get(SessionRow, session_id) is None:
                raise ApiError(404, "session_not_found", "找不到该会话")
        return
    token = request.headers.get(TOKEN_HEADER.lower(), "")
    if row is None or row.token_hash is None or not token \
            or not hmac.compare_digest(row.token_hash, hash_token(token)):
        raise ApiError(403, "session_forbidden", "会话凭证无效或会话已过期，请重新开始咨询",
                       headers={"WWW-Authenticate": TOKEN_HEADER})


def issue_session(rt: Runtime, channel: str | None, region: str | None) -> tuple[str, str]:
    """A new session with a server-made id and its secret (returned once, stored hashed)."""
    session_id, token = new_id(), secrets.token_urlsafe(32)
    with rt.db.begin() as s:
        s.add(SessionRow(id=session_id, channel=channel, region=region, token_hash=hash_token(token)))
    return session_id, token


INTEGRATION_PREFIX = "int-"  # citizen ids are uuid hex: a derived id can never be one of theirs


def integration_session(rt: Runtime, key: str, user: str | None, region: str | None) -> tuple[str, bool]:
    """The session an integration's call runs in, and whether it is transient (erase it after the call).

    With a ``user``, the id is a keyed hash of the platform's key and that user, made here: another key with the
    same user string reaches another session, and no user string can name a citizen's session. The session has
    no secret (token_hash null), so no citizen token opens it; it expires and is erased like a citizen's.
    Without a user, a fresh session for this call only."""
    if not user:
        session_id = new_id()
        with rt.db.begin() as s:
            s.add(SessionRow(id=session_id, channel="integration", region=region))
        return session_id, True
    session_id = INTEGRATION_PREFIX + rt.vault.mac("integration-session", hash_token(key), user)[:48]
    idle = dt.timedelta(minutes=rt.settings.api.session_idle_minutes)
    with rt.session_locks(session_id):
        with rt.db() as s:
            row = s.get(SessionRow, session_id)
        if row is None:
            with rt.db.begin() as s:
                s.add(SessionRow(id=session_id, channel="integration", region=region))
        elif row.erased_at is not None or (row.updated_at or row.created_at) < utcnow() - idle:
            # Expired: its personal data goes (if the sweeper has not taken it yet); the user starts over.
            erase_sessions(rt, [session_id])
            with rt.db.begin() as s:
                s.execute(update(SessionRow).where(SessionRow.id == session_id)
                          .values(erased_at=None, updated_at=utcnow()))
    return session_id, False


def check_session(rt: Runtime, request: Request, session_id: str) -> None:
    """403 unless the request holds this live session's secret (or a hotline/staff key)."""
    _require_holder(rt, request, session_id, _live_row(rt, session_id))


def check_session_secret(rt: Runtime, request: Request, session_id: str) -> None:
    """403 unless the request holds this live session's secret: a verified identity is the citizen's alone, no
    hotline or staff key reads or changes it."""
    _require_holder(rt, request, session_id, _live_row(rt, session_id), keys=False)


def holds_secret(rt: Runtime, request: Request) -> bool:
    """After a check passed: whether it was the session's secret (not a hotline or staff key)."""
    return bool(request.headers.get(TOKEN_HEADER.lower())) and key_role(request, rt.settings) not in ("hotline", "staff")


def chat_session(rt: Runtime, request: Request, session_id: str | None, channel: str,
                 region: str | None) -> tuple[str, str | None]:
    """The session a chat turn runs in, and a new secret when the turn starts a session. A client-made,
    unknown or expired id starts a new session (its id is never adopted); a live id needs its secret."""
    row = _live_row(rt, session_id) if session_id else None
    if row is not None:
        _require_holder(rt, request, session_id, row)
        return session_id, None
    return issue_session(rt, channel, region)


def erase_sessions(rt: Runtime, ids: list[str], now: dt.datetime | None = None) -> None:
    """Erase these sessions' personal data (the state holds the form draft too) and retire their secrets.
    What stays is what the statistics need: masked text, intents, routes and timings."""
    now = now or utcnow()
    with rt.db.begin() as s:
        s.execute(update(SessionRow).where(SessionRow.id.in_(ids))
                  .values(state_enc=None, token_hash=None, erased_at=now, updated_at=now))
        s.execute(update(MessageRow).where(MessageRow.session_id.in_(ids)).values(text_enc=ERASED))
        s.execute(update(ReplyRow).where(ReplyRow.session_id.in_(ids)).values(reply_enc=ERASED))


def erase_expired(rt: Runtime, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Erase the sessions idle longer than the limit; returns how many were erased."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(minutes=rt.settings.api.session_idle_minutes)
    with rt.db() as s:
        ids = list(s.scalars(select(SessionRow.id).where(SessionRow.erased_at.is_(None),
                                                         SessionRow.updated_at < cutoff).limit(batch)))
    if ids:
        erase_sessions(rt, ids, now)
        log.info("erased the personal data of %d expired sessions", len(ids))
    return len(ids)


def start_expiry_sweeper(rt: Runtime, stop: threading.Event, every_s: float = 60.0) -> threading.Thread:
    def run() -> None:
        while not stop.wait(every_s):
            try:
                while erase_expired(rt) == 500:  # a backlog: keep going in batches
                    pass
            except Exception:  # noqa: BLE001 - a broken database is reported by /readyz; try again later
                log.warning("erasing expired sessions failed; will retry", exc_info=True)

    thread = threading.Thread(target=run, name="daoban-session-expiry", daemon=True)
    thread.start()
    return thread
