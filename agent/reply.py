"""The reply contract: what the agent returns for one message. The API sends it unchanged."""
from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, computed_field

IntentName = Literal["consult", "apply", "query_status", "complaint", "human", "chitchat", "out_of_scope"]
RouteKind = Literal["scenario", "matter", "faq", "catalog"]
Channel = Literal["web", "app", "hotline"]


class Intent(BaseModel):
    name: IntentName
    confidence: float = Field(ge=0, le=1)


class Route(BaseModel):
    kind: RouteKind
    id: str
    title: str
    region: str
    score: float


class Citation(BaseModel):
    doc_id: str
    title: str
    section: str
    snippet: str


class ClarifyOption(BaseModel):
    id: str
    title: str


class Clarify(BaseModel):
    question: str
    options: list[ClarifyOption] = Field(max_length=5)
    # route: which service did you mean (no route yet); situation: a 情形 question of the routed service,
    # whose answer changes the materials or conditions (the route is set).
    kind: Literal["route", "situation"] = "route"


class FormFieldValue(BaseModel):
    key: str
    label: str
    type: str
    value: str | None = None
    source: str | None = None  # conversation | derived | e_license | user
    valid: bool = True
    error: str | None = None
    # Required now (its 情形 condition holds): what the prefill rate counts.
    required: bool = False
    role: str | None = Field(default=None, description="whose value it is (corpus/roles.yaml): the field's declared "
                             "role, else the one its key or label gives; subject is the person the application is for")
    licence: str | None = Field(default=None, description="source e_license: the electronic licence (居民身份证, "
                                "营业执照...) that certifies the value (免填写); gone once the user edits it")


class FieldConflict(BaseModel):
    """A value said in the conversation that a certified value replaced: reported, never silently dropped."""

    key: str
    label: str
    said: str
    message: str


class FormState(BaseModel):
    form_id: str
    # The guide the form belongs to: a 一件事 (its unified form) or a matter (its own or its generic form). Sessions
    # saved before matters had forms hold scenario_id, read here as the guide id.
    guide_id: str = Field(validation_alias=AliasChoices("guide_id", "scenario_id"))
    guide_kind: Literal["scenario", "matter"] = "scenario"
    subject_role: str = Field(default="subject", description="the role of the person or body the application is "
                              "for: the fields with this role are theirs")
    fields: list[FormFieldValue]
    missing: list[str] = Field(default_factory=list)
    conflicts: list[FieldConflict] = Field(default_factory=list, description="values said in the conversation that "
                                           "the electronic licences contradict (the certified value is filled)")
    licence_declined: list[str] = Field(default_factory=list, description="fields the user took over from the "
                                        "licences (edited or cleared): never filled from them again")
    exempt_materials: list[str] = Field(default_factory=list, description="materials the electronic licences "
                                        "behind certified fields cover (免提交)")

    @computed_field(description="deprecated: the guide's id (guide_id), kept for clients of scenario-only forms")
    @property
    def scenario_id(self) -> str:
        return self.guide_id


# The LLM lead of a reply: accepted by the verifier, rejected (the composed answer alone), or unavailable (the LLM
# timed out or failed); None when no lead was tried.
LeadOutcome = Literal["accepted", "rejected", "unavailable"]


class Reply(BaseModel):
    session_id: str
    intent: Intent
    route: Route | None = None
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    clarify: Clarify | None = None
    form: FormState | None = None
    handoff: bool = False
    suggestions: list[str] = Field(default_factory=list)
    latency_ms: int = 0
    lead: LeadOutcome | None = Field(default=None, description="the LLM lead: accepted by the verifier, rejected "
                                     "(the composed answer alone), unavailable; null when none was tried")
