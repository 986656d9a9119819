"""Wire models of the HTTP API (the agent's Reply goes out unchanged)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.reply import Channel, FormState, Reply

SessionId = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class Wire(BaseModel):
    # strict: "yes" is not a boolean and 1 is not a string; a client learns of its mistake instead of a guess
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class NewSession(BaseModel):
    session_id: str
    session_token: str = Field(description="the session's secret, shown once: send it as X-Session-Token")
    token_header: str = "X-Session-Token"
    idle_expiry_minutes: int = Field(description="the session and its personal data end after this much idle time")


class ChatRequest(Wire):
    session_id: str | None = SessionId
    message: str = Field(min_length=1, max_length=2000)
    channel: Channel = "web"
    region: str | None = Field(default=None, max_length=64)


class Message(BaseModel):
    role: Literal["user", "assistant"]
    text: str
    reply_id: str | None = None
    created_at: dt.datetime


class SessionView(BaseModel):
    session_id: str
    channel: str | None = None
    region: str | None = None
    messages: list[Message]
    state: dict[str, Any] | None = Field(default=None, description="the agent's SessionState")
    forms: list[FormState] = Field(default_factory=list, description="form drafts of this session")
    last_reply: Reply | None = None


class FormUpdate(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    fields: dict[str, str | None] = Field(default_factory=dict, description="field key -> new value")


class FieldError(BaseModel):
    key: str
    label: str
    message: str


class Receipt(BaseModel):
    receipt_no: str
    submitted_at: dt.datetime
    scenario_id: str = Field(description="the guide the form belongs to: a 一件事, or a matter (named so before "
                             "matters had forms)")
    scenario_title: str
    form_id: str
    departments: list[str]
    promised_days: int | None
    time_limit: str = Field(description="promised time limit in words, e.g. 5个工作日")
    status: str
    status_lookup: str | None = Field(default=None, description="where to check progress")


class ApplicationStatusView(BaseModel):
    receipt_no: str
    status: str
    submitted_at: dt.datetime
    scenario_title: str
    departments: list[str]
    promised_days: int | None


class FeedbackRequest(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    reply_id: str | None = Field(default=None, max_length=32, description="defaults to the session's last reply")
    thumbs: Literal["up", "down"] | None = None
    resolved: bool | None = Field(default=None, description="问题已解决 (true) / 未解决 (false)")
    comment: str | None = Field(default=None, max_length=1000)


class FeedbackAck(BaseModel):
    id: int
    reply_id: str


class ScenarioSummary(BaseModel):
    id: str
    title: str
    region: str
    stage: str
    summary: str
    lead_department: str
    departments: list[str]
    promised_days: int | None
    fee: str
    form_id: str
    member_count: int


class CatalogReviewRequest(Wire):
    """A staff decision on one catalogue matter's generated words: approve as is, reject, or edit (and approve)."""

    action: Literal["approve", "reject", "edit"]
    keywords: list[Annotated[str, Field(min_length=1, max_length=20)]] | None = Field(default=None, max_length=12)
    questions: list[Annotated[str, Field(min_length=1, max_length=80)]] | None = Field(default=None, max_length=10)


class SampleQuestionRequest(Wire):
    doc_id: str = Field(min_length=2, max_length=96)
    question: str = Field(min_length=1, max_length=200)
    reindex: bool = True
