"""The form filler's domain words, read from ``agent/data/roles.yaml``, ``options.yaml`` and
``form_words.yaml`` through pydantic models: a broken file fails with ``file:line: message`` for each
problem, and every role named must be one of ``corpus/roles.yaml``. ``Vocabulary`` holds them, read once."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from corpus.datafile import load_data_file
from corpus.loader import SourceInfo
from corpus.roles import known_roles
from agent.forms.situation_fit import SituationFitWords

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
UNSTATED = "unstated"  # role_fit key for a value said without a role cue


Word = Annotated[str, Field(pattern=r"\S")]  # not blank
Words = list[Word]


class RoleWords(BaseModel):
    """agent/data/roles.yaml."""

    model_config = ConfigDict(extra="forbid")
    cues: dict[str, Words] = Field(min_length=1)
    not_persons: list[str]
    kin: list[str] = Field(min_length=1)  # family of the user: whom they apply for by giving their ID number
    spouse_of_me: dict[Word, str]
    either_spouse: str | None = None  # a spouse said without a side (爱人): the other side of what the user is
    young_kin: "YoungKin | None" = None  # 我侄女X … 孩子身份证…: a young relative later called 孩子
    youngest_speaker: int | None = Field(default=None, ge=1, le=18)  # a younger holder's bare ID number is not theirs
    held_as: dict[str, str] = {}  # role said of the user -> the role they apply in
    acts_for: list[str] = []  # roles held by one who applies for others (我是公司人事)
    workplace_endings: Words = []  # 公司, 厂, 科: "我是…厂劳资科的石慧" says the user is its staff
    for_others: list[str] = []  # field roles of one who applies for someone else (代办人, 监护人)
    applicant_side_words: Words = Field(min_length=1)
    field_keys: dict[Word, str] = Field(min_length=1)
    field_labels: dict[Word, str] = Field(min_length=1)
    applicant_side_labels: Words = Field(min_length=1)
    role_fit: dict[str, dict[str, int]]
    service_kinds: "ServiceKinds | None" = None
    party_words: Words = []  # a party to a deal, whose role the form says (买方): a name right after it is a name

    def shared_cues(self) -> list[tuple[tuple, str]]:
        """(field path, problem) of each cue word listed under a second role: a word says one role."""
        seen: dict[str, str] = {}
        out = []
        for role, words in self.cues.items():
            for i, w in enumerate(words):
                if w in seen:
                    out.append((("cues", role, i), f"{w!r} is a cue of both {seen[w]!r} and {role!r}"))
                seen.setdefault(w, role)
        return out

    def service_kind_problems(self) -> list[tuple[tuple, str]]:
        """(field path, problem) of each service_kinds word that is not a cue word, and of each also_before word
        that is not one of the service_kinds words."""
        if not self.service_kinds:
            return []
        cue_words = {w for words in self.cues.values() for w in words}
        kinds = self.service_kinds
        return [(("service_kinds", "words", i), f"{w!r} is not a cue word")
                for i, w in enumerate(kinds.words) if w not in cue_words] \
            + [(("service_kinds", "also_before", w), f"{w!r} is not one of service_kinds.words")
               for w in kinds.also_before if w not in kinds.words]

    def role_names(self) -> list[tuple[tuple, str]]:
        """(field path, role) of every role the file names, to check against the role list."""
        out: list[tuple[tuple, str]] = [(("cues", r), r) for r in self.cues]
        out += [(("not_persons", i), r) for i, r in enumerate(self.not_persons)]
        out += [(("kin", i), r) for i, r in enumerate(self.kin)]
        out += [(("acts_for", i), r) for i, r in enumerate(self.acts_for)]
        out += [(("for_others", i), r) for i, r in enumerate(self.for_others)]
        out += [(("spouse_of_me", w), r) for w, r in self.spouse_of_me.items()]
        out += [(("either_spouse",), self.either_spouse)] if self.either_spouse else []
        out += [(("young_kin", "role"), self.young_kin.role), (("young_kin", "kin_of"), self.young_kin.kin_of)] \
            if self.young_kin else []
        for said, held in self.held_as.items():
            out += [(("held_as", said), said), (("held_as", said), held)]
        out += [(("field_keys", k), r) for k, r in self.field_keys.items()]
        out += [(("field_labels", k), r) for k, r in self.field_labels.items()]
        for field_role, fits in self.role_fit.items():
            out.append((("role_fit", field_role), field_role))
            out += [(("role_fit", field_role, r), r) for r in fits if r != UNSTATED]
        return out


class YoungKin(BaseModel):
    """Relative words for one who may be a minor (侄女, 外甥): named so, then called by the child word with no child
    named, they are that child."""

    model_config = ConfigDict(extra="forbid")
    role: str
    kin_of: str  # what the user is to them
    words: Words = Field(min_length=1)


class ServiceKinds(BaseModel):
    """Cue words that name a kind of service, not a person, when a service noun follows (职工养老保险, 企业年报)."""

    model_config = ConfigDict(extra="forbid")
    words: Words = Field(min_length=1)  # each one of ``cues``
    before: Words = Field(min_length=1)
    also_before: dict[Word, Words] = {}  # nouns after which only that word names a thing (居民身份证, not 职工身份证)


class OptionWords(BaseModel):
    """agent/data/options.yaml."""

    model_config = ConfigDict(extra="forbid")
    synonyms: dict[Word, Words]
    generic: Words


class NumberCues(BaseModel):
    """What says which kind of number follows."""

    model_config = ConfigDict(extra="forbid")
    id_number: Words = Field(min_length=1)
    phone: Words = Field(min_length=1)
    uscc: Words = Field(min_length=1)
    other: Words = Field(min_length=1)


class FormWords(BaseModel):
    """agent/data/form_words.yaml."""

    model_config = ConfigDict(extra="forbid")
    number_cues: NumberCues
    money_cues: Words = Field(min_length=1)
    company_endings: Words = Field(min_length=1)
    generic_org_starts: Words = Field(min_length=1)
    org_label_endings: dict[Word, Word | None] = Field(min_length=1)
    government_endings: Words = Field(min_length=1)
    organisation_words: Words = []  # an organisation applies (我们公司…): its 一件事 for 法人 is the one
    correction_cues: Words = Field(min_length=1)
    name_cues: Words = Field(min_length=1)
    latin_name_cues: Words = []  # before a name in Latin letters (He is Daniel Schmidt, 名叫 Anna Weber)
    label_words_said: dict[Word, Words] = {}  # a label's word -> how people say it next to a value (居住: 住在)
    part_cues: "PartCues"
    review: "ReviewWords"
    situation_fit: SituationFitWords


class PartCues(BaseModel):
    """The side of a number a part correction names (最后一位, 前三位)."""

    model_config = ConfigDict(extra="forbid")
    last: Words = Field(min_length=1)
    first: Words = Field(min_length=1)
    middle: Words = Field(default_factory=list)
    from_end: Words = Field(default_factory=list)
    units: Words = Field(min_length=1)
    loose_units: Words = Field(default_factory=list)
    say: Words = Field(min_length=1)


class ReviewWords(BaseModel):
    """What pre-review (辅助审核) reads from form labels."""

    model_config = ConfigDict(extra="forbid")
    past_date_labels: Words = Field(min_length=1)   # a date so labelled cannot be after today (出生, 死亡)
    birth_date_labels: Words = Field(min_length=1)  # a date so labelled must match the same person's ID
    gender_labels: Words = Field(min_length=1)      # an enum so labelled must match the same person's ID
    handed_in_prefixes: Words = Field(default_factory=list)  # 原居民身份证: the card itself, no licence replaces it
    planned_date_labels: Words = Field(default_factory=list)  # a date so labelled cannot be before today (预约)
    name_labels: Words = Field(default_factory=list)  # a text so labelled is a person's name
    different_people: list[Annotated[list[Word], Field(min_length=2, max_length=2)]] = Field(default_factory=list)
    role_genders: dict[Word, Literal["男", "女"]] = Field(default_factory=dict)
    periods: list[Annotated[list[Word], Field(min_length=2, max_length=2)]] = Field(default_factory=list)


def _located(path: Path, info: SourceInfo, problems: list[tuple[tuple, str]]) -> list[str]:
    return [f"{path}:{info.line_of(loc)}: {'.'.join(map(str, loc))}: {message}" for loc, message in problems]


def unknown_roles(named: list[tuple[tuple, str]], known: frozenset[str] | set[str] | None = None) \
        -> list[tuple[tuple, str]]:
    """(field path, problem) of each role a word file names that corpus/roles.yaml does not list."""
    known = known_roles() if known is None else known
    return [(loc, f"unknown role {role!r} (the roles are listed in corpus/roles.yaml)")
            for loc, role in named if role not in known]


def role_problems(path: Path, info: SourceInfo, named: list[tuple[tuple, str]],
                  known: frozenset[str] | set[str] | None = None) -> list[str]:
    """A word file's unknown roles, each with the file's path and line (a data file's ``check``)."""
    return _located(path, info, unknown_roles(named, known))


def _role_problems(path: Path, model: RoleWords, info: SourceInfo) -> list[str]:
    return _located(path, info, unknown_roles(model.role_names()) + model.shared_cues()
                    + model.service_kind_problems())


def load_role_words(path: Path | str = DATA_DIR / "roles.yaml", text: str | None = None) -> RoleWords:
    path = Path(path)
    return load_data_file(path, RoleWords, text, check=lambda model, info: _role_problems(path, model, info))


def load_option_words(path: Path | str = DATA_DIR / "options.yaml", text: str | None = None) -> OptionWords:
    return load_data_file(path, OptionWords, text)


def _review_role_problems(path: Path, model: FormWords, info: SourceInfo) -> list[str]:
    named = [(("review", "different_people", i, j), role) for i, pair in enumerate(model.review.different_people)
             for j, role in enumerate(pair)]
    named += [(("review", "role_genders", role), role) for role in model.review.role_genders]
    return role_problems(path, info, named, known_roles() | {"subject"})


def load_form_words(path: Path | str = DATA_DIR / "form_words.yaml", text: str | None = None) -> FormWords:
    path = Path(path)
    return load_data_file(path, FormWords, text, check=lambda model, info: _review_role_problems(path, model, info))


@dataclass(frozen=True)
class Vocabulary:
    """The three word files, validated, with the lookups built from them."""

    roles: RoleWords
    options: OptionWords
    words: FormWords

    @functools.cached_property
    def role_cues(self) -> dict[str, str]:
        """Cue word -> role (ROLE_CUES)."""
        return {w: role for role, words in self.roles.cues.items() for w in words}

    @functools.cached_property
    def role_fit(self) -> dict[str | None, dict[str | None, int]]:
        return {role: {None if r == UNSTATED else r: s for r, s in fits.items()}
                for role, fits in self.roles.role_fit.items()}

    def fit(self, field_role: str, slot_role: str | None) -> int | None:
        """How strongly a field of ``field_role`` takes a value of ``slot_role`` (None: not at all)."""
        return self.role_fit.get(field_role, {field_role: 10}).get(slot_role)


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The shipped word files, read once per process."""
    return Vocabulary(load_role_words(), load_option_words(), load_form_words())
