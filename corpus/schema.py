"""Typed schema of the daoban corpus.

Content staff write one YAML file per document under
``corpus/data/<region>/{scenarios,matters,faqs,catalog}/``; these models are
what those files must parse into. Field names are English, domain values are
Chinese (情形, 一件事, 免提交) as the service centres use them.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DOC_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,80}$"

Audience = Literal["个人", "法人"]
MatterType = Literal[
    "行政许可", "行政确认", "行政给付", "行政征收", "行政裁决", "行政奖励",
    "行政备案", "行政检查", "其他行政权力", "公共服务",
]
Stage = Literal[
    "出生", "教育", "就业", "创业", "婚育", "置业", "出行", "医疗", "社保", "养老",
    "残疾人", "身后", "准入准营", "经营发展", "工程建设", "涉外", "注销退出", "其他",
]
MaterialForm = Literal["原件", "复印件", "原件及复印件", "电子版", "原件或电子证照"]
ExemptReason = Literal["电子证照", "数据共享", "告知承诺", "部门核验"]
FieldType = Literal["text", "id_number", "phone", "date", "enum", "address", "uscc", "money", "int"]
FieldSource = Literal["conversation", "derived", "e_license"]
Derivation = Literal["birth_date", "gender", "age", "region"]


class Strict(BaseModel):
    # Unknown keys are typos in a content file: reject them rather than drop them.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Source(Strict):
    """Where the facts of a document come from."""

    name: str = Field(min_length=2, description="e.g. 山东省人民政府办公厅《…》 or 爱山东 办事指南")
    url: str | None = None


class Material(Strict):
    name: str = Field(min_length=2)
    form: MaterialForm = "原件"
    count: int = Field(default=1, ge=0, description="份数; 0 = 仅查验")
    exempt: bool = Field(default=False, description="免提交: shared data or an electronic licence covers it")
    exempt_reason: ExemptReason | None = None
    required: bool = True
    notes: str | None = None


class TimeLimit(Strict):
    """Time limits in working days. 0 promised days means 即办 (done on the spot)."""

    legal_days: int | None = Field(default=None, ge=0)
    promised_days: int | None = Field(default=None, ge=0)
    note: str | None = None

    def parts(self, promised: str = "承诺时限{}", legal: str | None = "法定时限{}",
              on_the_spot: str = "即办") -> list[str]:
        """The limits in words, promised first: ``promised`` and ``legal`` with ``{}`` standing for "N个工作日",
        ``on_the_spot`` for 0 promised days; ``legal=None`` leaves the legal limit out. The note is not
        included: callers place it differently."""
        out = []
        if self.promised_days is not None:
            out.append(on_the_spot if self.promised_days == 0 else promised.format(f"{self.promised_days}个工作日"))
        if legal is not None and self.legal_days is not None:
            out.append(legal.format(f"{self.legal_days}个工作日"))
        return out


class Place(Strict):
    name: str
    address: str
    hours: str | None = None
    phone: str | None = None


class OnlineChannel(Strict):
    name: str = Field(description="e.g. 爱山东APP, 山东政务服务网")
    url: str | None = None
    path: str | None = Field(default=None, description="where to tap inside the app, e.g. 首页-一件事-新生儿出生")


class QA(Strict):
    q: str = Field(min_length=2)
    a: str = Field(min_length=2)


class Situation(Strict):
    """情形: one branch of a matter. Fields left empty fall back to the matter's own."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    conditions: list[str] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    time_limit: TimeLimit | None = None
    fee: str | None = None


class DocumentBase(Strict):
    id: str = Field(pattern=DOC_ID_PATTERN)
    title: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)
    region: str = Field(description="e.g. 山东省")
    audience: list[Audience] = Field(min_length=1)
    sample_questions: list[str] = Field(default_factory=list, description="相似问法, as users really say them")
    faqs: list[QA] = Field(default_factory=list)
    source: Source
    updated: dt.date
    # How people ask for it, written blind (corpus/phrasings.py): set when the corpus is loaded, from
    # <region>/phrasings.yaml under its review policy; never in the guide's own file.
    phrasings: list[str] = Field(default_factory=list, exclude=True)


class MatterGuide(DocumentBase):
    """事项办事指南."""

    kind: Literal["matter"] = "matter"
    department: str
    matter_type: MatterType
    code: str | None = Field(default=None, description="事项编码 where known")
    situations: list[Situation] = Field(min_length=1)
    steps: list[str] = Field(default_factory=list)
    time_limit: TimeLimit
    fee: str = "不收费"
    places: list[Place] = Field(default_factory=list)
    online: list[OnlineChannel] = Field(default_factory=list)
    phone: str = Field(default="12345", description="consultation phone; 12345 where no local number is known")
    legal_basis: list[str] = Field(default_factory=list)
    form: "Form | None" = Field(default=None, description="the matter's application form, after the official one; "
                                "without it the generic form (corpus/generic_form.yaml) is derived at load")
    generic_form: "Form | None" = Field(default=None, exclude=True,
                                        description="set at load for a matter without a form; never in its file")
    checks: "list[FormCheck]" = Field(default_factory=list, description="pre-review rules over the generic form "
                                      "(its field keys, corpus/generic_form.yaml), for a matter without a form")

    @model_validator(mode="after")
    def _checks_without_form(self) -> "MatterGuide":
        if self.form is not None and self.checks:
            raise ValueError("a matter with its own form declares its checks in the form (form.checks)")
        return self

    @property
    def application_form(self) -> "Form":
        """The declared form, else the generic one derived at load."""
        form = self.form or self.generic_form
        assert form is not None, "load_corpus derives a generic form for every matter"
        return form


# --- 一件事 scenarios -------------------------------------------------------

Condition = dict[str, list[str]]
"""{question_id: [option_id, ...]}: true when the answer to each question is one of the options."""


def condition_holds(when: Condition | None, answers: dict[str, str]) -> bool | None:
    """True/False when the 情形 answers decide ``when``; None while a question in it is unanswered."""
    if not when:
        return True
    undecided = False
    for question, options in when.items():
        if question not in answers:
            undecided = True
        elif answers[question] not in options:
            return False
    return None if undecided else True


class Option(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    keywords: list[str] = Field(default_factory=list, description="words that show the user already chose this option")
    note: str | None = None


class Question(Strict):
    """A 情形 question: asked only when its answer changes what the user must do."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    text: str
    # At most 5: the question is shown as one row of buttons (the reply's clarify allows 5).
    options: list[Option] = Field(min_length=2, max_length=5)
    when: Condition | None = Field(default=None, description="ask only after these answers")


class Member(Strict):
    """A member matter of the scenario, in order."""

    matter: str = Field(description="id of a matter guide (or catalogue matter) in the corpus")
    depends_on: list[str] = Field(default_factory=list, description="ids of members that must finish first")
    when: Condition | None = Field(default=None, description="applies only under these 情形 answers")
    note: str | None = None


class ScenarioMaterial(Material):
    for_members: list[str] = Field(default_factory=list)
    when: Condition | None = None


class FormField(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: FieldType
    required: bool = False
    options: list[str] = Field(default_factory=list)
    sources: list[FieldSource] = Field(default_factory=lambda: ["conversation"])
    derived_from: str | None = Field(default=None, description="key of another field this one is derived from")
    derive: Derivation | None = None
    e_license: str | None = Field(default=None, description="name of the electronic licence that can fill it")
    when: Condition | None = None
    hint: str | None = None
    role: str | None = Field(
        default=None, pattern=r"^[a-z][a-z_]*$",
        description="who the value belongs to, one of corpus/roles.yaml: subject, applicant, agent, mother, child, "
                    "spouse, legal_rep, company, …; without it the assistant reads the role from the key or label")


# A form field with this key says whom the application is for: its first option is "for oneself", its second "for
# someone else" (代办). The assistant fills it from the conversation (给我爸办 -> the second); a field's ``when`` may
# name it like any enum field of the form, e.g. agent fields ``when: {applies_for: [代他人办理]}``.
APPLIES_FOR = "applies_for"
# A matter's form field with this key is its 情形 choice: its options are the matter's situation titles.
SITUATION = "situation"


class FormCheck(Strict):
    """A pre-review (辅助审核) rule the guide declares over its form; the explanation is shown as a 补正 item.
    age: the age of the person whose ID is ``field`` lies in [min, max] today; region: that ID's region code starts
    with one of ``prefixes``; not_future: the date ``field`` is not after today; not_before: the date ``field`` is
    not before the date ``other`` (or the birth date of the ID ``other``)."""

    kind: Literal["age", "region", "not_future", "not_before"]
    field: str
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    prefixes: list[str] = Field(default_factory=list)
    other: str | None = None
    message: str = Field(min_length=4)
    when: Condition | None = None


class Form(Strict):
    """一张表单: a scenario's unified application form, or a matter's application form.

    A field's ``when`` names a 情形 question of the scenario (option ids) or an enum field of the form itself
    (its option texts): the official forms branch on what is ticked on them."""

    id: str = Field(pattern=DOC_ID_PATTERN)
    title: str
    subject_role: str = Field(
        default="subject", pattern=r"^[a-z][a-z_]*$",
        description="the role (corpus/roles.yaml) of the person or body the application is for: subject, or the "
                    "form's own word for it (child on a newborn form, deceased, company, applicant)")
    fields: list[FormField] = Field(min_length=3)
    checks: list[FormCheck] = Field(default_factory=list, description="pre-review rules beyond each field's format")

    @model_validator(mode="after")
    def _checks_name_fields(self) -> "Form":
        keys = {f.key for f in self.fields}
        for c in self.checks:
            unknown = [k for k in (c.field, c.other) if k and k not in keys]
            if unknown:
                raise ValueError(f"check {c.kind} names fields not in the form: {', '.join(unknown)}")
        return self

    def field_options(self) -> dict[str, list[str]]:
        """Enum field key -> its options: what a field's ``when`` may name besides 情形 questions."""
        return {f.key: f.options for f in self.fields if f.type == "enum"}


class Scenario(DocumentBase):
    """一件事."""

    kind: Literal["scenario"] = "scenario"
    stage: Stage
    lead_department: str
    departments: list[str] = Field(default_factory=list)
    summary: str = Field(min_length=10, description="one paragraph: what the 一件事 bundles and what it saves")
    conditions: list[str] = Field(default_factory=list)
    members: list[Member] = Field(min_length=1)
    questions: list[Question] = Field(default_factory=list)
    materials: list[ScenarioMaterial] = Field(default_factory=list, description="一套材料: each listed once")
    steps: list[str] = Field(default_factory=list)
    time_limit: TimeLimit
    fee: str = "不收费"
    places: list[Place] = Field(default_factory=list)
    online: list[OnlineChannel] = Field(default_factory=list)
    phone: str = "12345"
    legal_basis: list[str] = Field(default_factory=list)
    form: Form

    @property
    def application_form(self) -> Form:
        return self.form


class FAQ(Strict):
    """问答对: a standalone question and answer."""

    kind: Literal["faq"] = "faq"
    id: str = Field(pattern=DOC_ID_PATTERN)
    question: str = Field(min_length=2)
    answer: str = Field(min_length=2)
    region: str
    department: str | None = None
    tags: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list, description="ids of related documents")
    sample_questions: list[str] = Field(default_factory=list)
    source: Source | None = None
    updated: dt.date | None = None

    @property
    def title(self) -> str:
        return self.question


class PlainWords(Strict):
    """What a catalogue matter is for, in plain words (corpus/enrich.py): set when the corpus is loaded, from
    its department's domain, its kind, and the reviewed/generated keywords and 相似问法; never in its file."""

    domain: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)


class CatalogMatter(Strict):
    """A matter known only by name, department, code and official link."""

    kind: Literal["catalog"] = "catalog"
    id: str = Field(pattern=DOC_ID_PATTERN)
    title: str
    region: str
    department: str
    main_item: str | None = None
    code: str | None = None
    task_type: str | None = Field(default=None, description="the platform's matter type code, e.g. 1, 20")
    matter_type: MatterType | None = None
    link: str | None = None
    aliases: list[str] = Field(default_factory=list)
    sample_questions: list[str] = Field(default_factory=list)
    source: Source | None = None
    plain: PlainWords | None = Field(default=None, exclude=True)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("title is empty")
        return v


Document = MatterGuide | Scenario | FAQ | CatalogMatter
DocKind = Literal["scenario", "matter", "faq", "catalog"]

KIND_BY_FOLDER: dict[str, type[BaseModel]] = {
    "scenarios": Scenario,
    "matters": MatterGuide,
    "faqs": FAQ,
    "catalog": CatalogMatter,
}


class Region(Strict):
    """``corpus/data/<region>/region.yaml``."""

    name: str = Field(description="e.g. 山东省")
    code: str | None = None
    platform: str | None = Field(default=None, description="e.g. 爱山东")
    hotline: str = "12345"
    online: list[OnlineChannel] = Field(default_factory=list)
    status_lookup: str | None = Field(default=None, description="where citizens check an application's progress")


MatterGuide.model_rebuild()
