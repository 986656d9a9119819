"""Wire models of the HTTP API (the agent's Reply goes out unchanged)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.forms.review import PreReview
from agent.reply import Channel, FormState, Reply
from corpus.schema import FAQ, CatalogMatter, MatterGuide, Scenario
from index.types import Hit

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
    messages: list[Message] = Field(description="the last api.max_history_turns turns, oldest first")
    state: dict[str, Any] | None = Field(default=None, description="the agent's SessionState")
    forms: list[FormState] = Field(default_factory=list, description="form drafts of this session")
    last_reply: Reply | None = None
    identity: "IdentityView | None" = Field(default=None, description="the verified identity, masked: to the "
                                            "session's secret holder only")


class FormUpdate(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    fields: dict[str, str | None] = Field(default_factory=dict, description="field key -> new value")


class FieldError(BaseModel):
    key: str
    label: str
    message: str


class ReceiptValue(BaseModel):
    key: str
    label: str
    value: str = Field(description="masked as in the chat (王*, 370***********1234, 138****5678)")


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
    review: PreReview | None = Field(default=None, description="the pre-review (辅助审核) at submission: pass, or "
                                     "the 补正 items the accepting department will ask about")
    values: list[ReceiptValue] = Field(default_factory=list, description="what was submitted, masked, in the "
                                       "form's order: for the citizen to check against what they meant")


class ApplicationStatusView(BaseModel):
    receipt_no: str
    status: str
    submitted_at: dt.datetime
    scenario_title: str
    departments: list[str]
    promised_days: int | None
    review_status: Literal["pass", "needs_correction"] | None = None
    corrections: list[str] = Field(default_factory=list, description="labels of the 补正 items found at submission")


class SubmissionReview(BaseModel):
    """A submission as the hotline and staff consoles see it: its progress and its pre-review, never its values (the
    review's messages name fields and materials, never what was typed)."""
    receipt_no: str
    submitted_at: dt.datetime
    scenario_title: str
    form_id: str
    departments: list[str]
    status: str
    review_status: Literal["pass", "needs_correction"] | None = Field(
        description="通过 (pass) or 需补正 (needs_correction); null for a submission made before pre-review")
    review: PreReview | None = Field(description="the 补正 items (fix: to correct; prepare: materials to bring)")


class SubmissionPage(BaseModel):
    items: list[SubmissionReview]
    counts: dict[Literal["pass", "needs_correction", "none"], int] = Field(
        description="all submissions by review status (none: made before pre-review)")
    next_offset: int | None = Field(description="offset of the next page, null on the last")


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


class PhrasingReviewRequest(Wire):
    """A staff decision on one guide's blind-written 相似问法: approve as is, reject, or edit (and approve)."""

    action: Literal["approve", "reject", "edit"]
    # blind-written messages may ramble (12345 notes, voice-to-text): longer and more of them than generated ones
    questions: list[Annotated[str, Field(min_length=1, max_length=300)]] | None = Field(default=None, max_length=100)


class SampleQuestionRequest(Wire):
    doc_id: str = Field(min_length=2, max_length=96)
    question: str = Field(min_length=1, max_length=200)
    reindex: bool = True


def sse_event(data: dict, events: list[str] | None = None, done: str | None = None) -> dict:
    """OpenAPI schema of one Server-Sent Event whose ``data`` is JSON described by ``data`` (OpenAPI 3.2's
    convention, which schemathesis checks): ``done`` is a literal last ``data`` (OpenAI's ``[DONE]``)."""
    payload = {"type": "string", "contentMediaType": "application/json", "contentSchema": data}
    event = {"type": "object", "required": ["data"], "properties": {
        "data": {"anyOf": [{"const": done}, payload]} if done else payload}}
    if events:
        event["properties"]["event"] = {"enum": events}
    return event


# One corpus document as JSON, told apart by its kind.
CorpusDocument = Annotated[Scenario | MatterGuide | FAQ | CatalogMatter, Field(discriminator="kind")]


# -- responses of the health, stats, catalogue, hotline and admin routes -----------------------------------------

class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    database: bool
    database_dialect: str = Field(description="sqlite or postgresql")
    index: bool
    model: bool
    llm_backend: str


class NotReady(Readiness):
    code: str
    message: str


class SearchResult(BaseModel):
    query: str
    hits: list[Hit]


class LatencyFigures(BaseModel):
    mean: int | None
    p50: int | None
    p95: int | None


class FeedbackFigures(BaseModel):
    up: int
    down: int
    resolved: int
    unresolved: int


class UsageStats(BaseModel):
    """Counts and rates over every recorded turn; no personal data."""

    sessions: int
    questions: int
    by_intent: dict[str, int]
    by_route_kind: dict[str, int] = Field(description='"none" for turns routed nowhere')
    by_channel: dict[str, int]
    fallback_rate: float
    clarify_rate: float
    handoff_rate: float
    low_confidence_rate: float
    latency_ms: LatencyFigures
    feedback: FeedbackFigures
    submissions: int


class KeyCheck(BaseModel):
    ok: bool
    role: str


class CardMaterial(BaseModel):
    name: str
    form: str | None = None
    count: int | str | None = None
    exempt: bool = False
    exempt_reason: str | None = None
    notes: str | None = None
    conditional: str | None = None


class CardMember(BaseModel):
    id: str
    title: str
    note: str | None = None
    conditional: str | None = None


class Transfer(BaseModel):
    department: str | None
    phone: str | None


class CardQuestion(BaseModel):
    text: str
    options: list[str]


class FactCard(BaseModel):
    """What the hotline agent reads out or transfers with; the fields beyond the first ones depend on the kind."""

    doc_id: str
    kind: str
    title: str
    region: str
    guide_url: str
    summary: str | None = None
    departments: list[str] = Field(default_factory=list)
    transfer: Transfer | None = None
    materials: list[CardMaterial] = Field(default_factory=list)
    members: list[CardMember] | None = None
    time_limit: str | None = None
    time_note: str | None = None
    fee: str | None = None
    questions: list[CardQuestion] | None = None
    situations: list[str] | None = None
    online: list[str] | None = None
    places: list[str] | None = None
    key_points: list[str] = Field(default_factory=list)
    link: str | None = None


class AssistView(BaseModel):
    reply: Reply
    reply_id: str
    card: FactCard | None
    transcript: list[Message]


class DayCount(BaseModel):
    day: str = Field(description="YYYY-MM-DD (UTC)")
    count: int


class IssueQuestion(BaseModel):
    question: str = Field(description="masked: no ID numbers or phones")
    count: int
    reasons: list[str]
    reply_id: str | None = Field(description="the reply asked about; null for a ticket's description")
    ticket_no: str | None = Field(default=None, description="the ticket (complaint, 办不成事, 差评) it comes from")
    last_at: dt.datetime


class IssueGroup(BaseModel):
    topic: str
    doc_id: str | None
    count: int
    reasons: dict[str, int]
    trend: list[DayCount]
    questions: list[IssueQuestion]


class TopQuestion(BaseModel):
    question: str
    count: int
    route_title: str | None


class DocHits(BaseModel):
    doc_id: str
    title: str
    kind: str
    hits: int


class DocRef(BaseModel):
    doc_id: str
    title: str
    kind: str


class CorpusCounts(BaseModel):
    scenarios: int
    matters: int
    faqs: int
    catalog: int


class CorpusValidation(BaseModel):
    ok: bool
    errors: int
    warnings: int
    problems: list[str]
    checked_at: dt.datetime


class IndexStatus(BaseModel):
    ready: bool
    load_error: str | None


class Overview(BaseModel):
    days: list[str]
    issue_groups: list[IssueGroup]
    issue_total: int
    top_questions: list[TopQuestion]
    doc_hits: list[DocHits]
    never_hit: list[DocRef]
    never_hit_catalog: int
    corpus: CorpusCounts
    validation: CorpusValidation
    index: IndexStatus


class DocumentRef(DocRef):
    region: str


class ReindexResult(BaseModel):
    ok: bool
    stats: dict[str, Any] = Field(description="the build report: seconds, regions, documents, units…")


class SampleQuestionResult(BaseModel):
    ok: bool
    doc_id: str
    question: str
    reindex: dict[str, Any] | None


class ReviewEntry(BaseModel):
    """One document's entry in a reviewed words file: the catalogue's generated words or a guide's phrasings."""

    doc_id: str
    title: str
    kind: str = Field(description="catalog, scenario or matter")
    department: str | None
    link: str | None
    region: str
    status: str
    stale: bool = Field(description="written for another title: not used until reviewed again")
    keywords: list[str]
    questions: list[str]
    indexed_unreviewed: list[str] = Field(description="which parts the index takes before review")
    retrieval_questions: list[str] = Field(description="the questions the loaded corpus gives the document for "
                                                       "retrieval now; the index takes them at the next reindex")


class ReviewPage(BaseModel):
    total: int
    counts: dict[str, int]
    documents: int = Field(description="how many documents of this kind the corpus has")
    parts: list[str] = Field(description="which parts of an entry are reviewed: keywords, questions")
    entries: list[ReviewEntry]


class EnrichPage(ReviewPage):
    catalog: int


class ReviewResult(BaseModel):
    ok: bool
    doc_id: str
    status: str
    keywords: list[str]
    questions: list[str]


class IdentityView(BaseModel):
    """The session's verified identity as its holder sees it: masked, with the kinds of licence it may use."""

    provider: str
    name_masked: str
    id_number_masked: str
    licences: list[str] = Field(description="kinds of electronic licence on file (居民身份证, 营业执照...)")
    verified_at: dt.datetime


class IdentityRequest(Wire):
    assertion: str = Field(min_length=1, max_length=8192, description="the signed assertion of the city's login, "
                           "made for this session's login nonce")


class IdentityAttached(BaseModel):
    identity: IdentityView
    form: FormState | None = Field(default=None, description="the session's open draft, refilled from the licences")


class LoginNonceView(BaseModel):
    nonce: str = Field(description="sign it into the identity assertion (the portal's login does)")
    expires_at: dt.datetime


class LicencesInfo(BaseModel):
    enabled: bool = Field(description="a licence platform is configured: the widget offers 用电子证照填写")
    demo: bool = Field(description="the demo platform (sample people, a public key): never in production")


class DemoPerson(BaseModel):
    index: int
    name: str


class DemoLoginRequest(Wire):
    person: int = Field(ge=0, le=99)
    nonce: str = Field(min_length=8, max_length=128)


class DemoAssertion(BaseModel):
    assertion: str
SessionView.model_rebuild()

# -- 好差评 and tickets (工单): ids come from api/data/service_quality.yaml -------------------------------------

ReasonIds = Field(default_factory=list, max_length=8, description="ids of the standard reasons (GET /v1/ratings/options)")
Contact = Field(default=None, max_length=24, pattern=r"^\+?[0-9][0-9 -]{5,22}$",
                description="a phone to call back on; kept (encrypted) only with consent")


class RatingRequest(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    target: Literal["answer", "submission"] = "answer"
    level: str = Field(max_length=24, description="a level id: very_satisfied, satisfied, basic, dissatisfied, "
                       "very_dissatisfied")
    reasons: list[Annotated[str, Field(max_length=32)]] = ReasonIds
    comment: str | None = Field(default=None, max_length=500, description="stored masked")
    reply_id: str | None = Field(default=None, max_length=32, description="target answer: defaults to the "
                                 "session's last reply")
    receipt_no: str | None = Field(default=None, max_length=32, description="target submission: its receipt")


class HotlineRatingRequest(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the call's session")
    level: str = Field(max_length=24)
    reasons: list[Annotated[str, Field(max_length=32)]] = ReasonIds
    comment: str | None = Field(default=None, max_length=500)


class RatingAck(BaseModel):
    id: int
    level: str
    level_label: str
    service_title: str | None
    ticket_no: str | None = Field(description="the 整改 ticket a 不满意 or 非常不满意 opened")


class OptionLabel(BaseModel):
    id: str
    label: str


class LevelOption(OptionLabel):
    score: int
    bad: bool


class ReasonOption(OptionLabel):
    for_: Literal["good", "bad", "any"] = Field(alias="for", serialization_alias="for")
    model_config = ConfigDict(populate_by_name=True)


class QualityOptions(BaseModel):
    levels: list[LevelOption]
    reasons: list[ReasonOption]
    targets: list[OptionLabel]
    ticket_kinds: list[OptionLabel]
    ticket_states: list[OptionLabel]


class LevelCount(BaseModel):
    level: str
    label: str
    count: int


class RatingGroup(BaseModel):
    key: str = Field(description="service id, or the department's name")
    title: str
    department: str | None = None
    count: int
    mean_score: float
    satisfied_rate: float = Field(description="share rated 基本满意 or better")
    bad: int
    levels: dict[str, int] = Field(description="level label -> count")
    trend: list[DayCount]


class ReasonCount(BaseModel):
    reason: str
    count: int


class RatingFigures(BaseModel):
    days: list[str]
    total: int
    mean_score: float | None
    satisfied_rate: float | None
    levels: list[LevelCount]
    trend: list[DayCount]
    by_service: list[RatingGroup]
    by_department: list[RatingGroup]
    bad_reasons: list[ReasonCount]


class TicketCreate(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    kind: Literal["complaint", "cannot_do"] = Field(description="投诉 or 办不成事")
    description: str = Field(min_length=2, max_length=1000, description="stored masked")
    service_id: str | None = Field(default=None, max_length=96, description="defaults to the session's service")
    contact: str | None = Contact
    consent: bool = Field(default=False, description="the citizen agrees the contact is kept for the answer")


class HotlineTicketCreate(Wire):
    session_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the call's session")
    kind: str = Field(max_length=16, description="诉求类型: a ticket kind id")
    service_id: str | None = Field(default=None, max_length=96)
    department: str | None = Field(default=None, max_length=128)
    points: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=10,
                                                                              description="要点, stored masked")
    description: str | None = Field(default=None, max_length=1000)
    contact: str | None = Contact
    consent: bool = False


class TicketDraft(BaseModel):
    """A call's structured summary, for the hotline agent to check before the ticket is made."""
    kind: str
    kind_label: str
    service_id: str | None
    service_title: str | None
    department: str | None
    points: list[str] = Field(description="masked")


class TicketLookup(Wire):
    ticket_no: str = Field(min_length=6, max_length=32)
    contact: str = Field(min_length=6, max_length=24)


class TicketMove(Wire):
    to: str = Field(max_length=16, description="the next state's id")
    assignee: str | None = Field(default=None, min_length=1, max_length=64, description="needed to 分派")
    note: str | None = Field(default=None, max_length=1000, description="stored masked")


class TicketStep(BaseModel):
    state: str
    label: str
    at: dt.datetime


class TicketView(BaseModel):
    """What the citizen who opened the ticket sees: no notes, no contact."""
    ticket_no: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    service_title: str | None
    department: str | None
    created_at: dt.datetime
    due_at: dt.datetime = Field(description="the first response is due by then")
    first_response_at: dt.datetime | None
    closed_at: dt.datetime | None
    overdue: bool = Field(description="no first response and past due")
    history: list[TicketStep]


class TicketEvent(BaseModel):
    from_state: str | None
    to_state: str
    label: str
    actor: str
    assignee: str | None
    note: str | None = Field(description="masked")
    at: dt.datetime


class StaffTicketView(TicketView):
    channel: str
    description: str = Field(description="masked")
    points: list[str]
    assignee: str | None
    contact: str | None = Field(description="only when the citizen consented")
    late: bool = Field(description="the first response came after the limit")
    next_states: list[OptionLabel]
    events: list[TicketEvent]


class TicketPage(BaseModel):
    total: int
    counts: dict[str, int] = Field(description="status label -> tickets")
    overdue: int
    items: list[StaffTicketView]
