"""A session: started by the server (its secret returned once), read and ended only with that secret
(or a hotline / staff key)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from agent.forms.licences import HeldLicences, mask_certified
from agent.reply import FormState
from api.db import MessageRow, SessionRow, as_utc
from api.deps import get_runtime, rate_limited, require_database
from api.errors import ApiError
from api.records import last_reply, session_drafts
from api.runtime import Runtime
from api.schemas import Message, NewSession, SessionView, Wire
from api.session_access import ERASED, TOKEN_HEADER, check_session, erase_sessions, holds_secret, issue_session

router = APIRouter(prefix="/v1", tags=["sessions"], dependencies=[Depends(rate_limited), Depends(require_database)])
SESSION_ERRORS = {403: {"description": "no valid X-Session-Token (or hotline/staff key) for this session"},
                  404: {"description": "no such session (hotline/staff keys only)"}}


# The verified identity and the login nonce are the citizen's alone: never in a view of the state (the secret
# holder gets the identity masked, in SessionView.identity).
PRIVATE_STATE = ("identity", "login_nonce")


def session_view(rt: Runtime, session_id: str, holder: bool = False) -> SessionView:
    with rt.db() as s:
        row = s.get(SessionRow, session_id)
        if row is None:
            raise ApiError(404, "session_not_found", "找不到该会话")
        # The last api.max_history_turns turns (a message and its reply), as the assistant keeps: a long session
        # costs no more to read than a short one.
        recent = s.scalars(select(MessageRow).where(MessageRow.session_id == session_id)
                           .order_by(MessageRow.id.desc()).limit(2 * rt.settings.api.max_history_turns)).all()
        messages = [Message(role=m.role, text=rt.vault.decrypt(m.text_enc) if m.text_enc != ERASED else m.text_masked,
                            reply_id=m.reply_id, created_at=as_utc(m.created_at)) for m in reversed(recent)]
        channel, region = row.channel, row.region
    last = last_reply(rt, session_id)
    state = rt.session_store.load_raw(session_id)
    held = state.get("identity") if state else None
    if state is not None:
        state = {k: v for k, v in state.items() if k not in PRIVATE_STATE}
    identity, forms, reply = None, session_drafts(rt, session_id), last[1] if last else None
    if holder and held:
        from api.routers.identity import identity_view

        identity = identity_view(HeldLicences.model_validate(held))
    elif held:  # a hotline or staff key: the values the licences certified would tell who signed in
        forms = [mask_certified(f) for f in forms]
        if reply is not None and reply.form is not None:
            reply = reply.model_copy(update={"form": mask_certified(reply.form)})
        if state is not None and state.get("form"):
            state["form"] = mask_certified(FormState.model_validate(state["form"])).model_dump(mode="json")
    return SessionView(session_id=session_id, channel=channel, region=region, messages=messages,
                       state=state, forms=forms, last_reply=reply, identity=identity)


class NewSessionRequest(Wire):
    channel: str = "web"
    region: str | None = None


@router.post("/sessions", response_model=NewSession, status_code=201,
             summary="Start a session: its id and its secret (shown once; send it as X-Session-Token)")
def new_session(body: NewSessionRequest | None = None, rt: Runtime = Depends(get_runtime)):
    body = body or NewSessionRequest()
    session_id, token = issue_session(rt, body.channel[:16], (body.region or None))
    return NewSession(session_id=session_id, session_token=token, token_header=TOKEN_HEADER,
                      idle_expiry_minutes=rt.settings.api.session_idle_minutes)


@router.get("/sessions/{session_id}", response_model=SessionView, responses=SESSION_ERRORS,
            summary="Transcript and state of a session (needs its X-Session-Token)")
def get_session(session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, session_id)
    return session_view(rt, session_id, holder=holds_secret(rt, request))


@router.delete("/sessions/{session_id}", status_code=204, responses=SESSION_ERRORS,
               summary="End a session now: its secret stops working and its personal data is erased")
def end_session(session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, session_id)
    erase_sessions(rt, [session_id])
