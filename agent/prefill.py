"""一表申请: fill a scenario's unified form from what the user said.

Generic over forms: a field is matched by its type, the role in its key or label
(``mother_id_number`` wants the mother's ID) and the words of its label; no
scenario is named here. Turns are read in order so a later statement corrects an
earlier one; values the user typed into the form (source ``user``) stay unless
the latest message states a new one. Invalid values are kept and flagged.

Call ``agent.slots.warm_up()`` at start-up: LAC, jionlp's region table and cn2an
take a few seconds to load on first use.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import json
import logging
import re
import threading
from dataclasses import dataclass, field as dc_field
from typing import Any

from corpus.schema import Form, FormField, condition_holds
from agent.reply import FormFieldValue, FormState
from agent.slots import ROLE_CUES, Slot, _role_for, _sentence_start, extract_slots
from agent.validators import enum_surfaces, id_number_info, to_halfwidth, validate

log = logging.getLogger("daoban.agent.prefill")

# The role a field belongs to, from its key prefix or label prefix.
FIELD_ROLE_KEYS: dict[str, str] = {
    "applicant": "applicant", "mother": "mother", "father": "father", "baby": "child", "child": "child",
    "newborn": "child", "infant": "child", "spouse": "spouse", "wife": "wife", "husband": "husband",
    "legal_rep": "legal_rep", "legal_representative": "legal_rep", "company": "company", "enterprise": "company",
    "business": "company", "contact": "contact", "agent": "agent", "student": "student", "deceased": "deceased",
    "employee": "employee", "worker": "employee", "seller": "seller", "guardian": "guardian", "co_buyer": "co_buyer",
    "pharmacist": "pharmacist",
}
FIELD_ROLE_LABELS: dict[str, str] = {
    "申请人": "applicant", "母亲": "mother", "父亲": "father", "新生儿": "child", "婴儿": "child", "孩子": "child",
    "子女": "child", "配偶": "spouse", "法定代表人": "legal_rep", "法人": "legal_rep", "企业": "company",
    "公司": "company", "单位": "company", "联系人": "contact", "经办人": "agent", "学生": "student", "逝者": "deceased",
    "新员工": "employee", "受伤职工": "employee", "卖方": "seller", "监护人": "guardian", "共同购房人": "co_buyer",
    "女方": "wife", "男方": "husband", "新法定代表人": "new_legal_rep", "代办人": "agent", "执业药师": "pharmacist",
}
# Label words for the one who applies; an applicant_* field without one (残疾人姓名, 持卡人姓名,
# 姓名) is about the person the application is for, who may be someone else (给我妈申请).
APPLICANT_SIDE_LABELS = ("申请人", "经办人", "代办人", "承办人", "办理人", "监护人", "联系人", "代理人")
# Which slot roles a field role takes, and how strongly (None = no cue in the text).
ROLE_FIT: dict[str | None, dict[str | None, int]] = {
    # the 经办人 is the applicant unless the form has its own 代办人 field (which fits better)
    "applicant": {"applicant": 10, "agent": 8, None: 6, "contact": 3},
    "mother": {"mother": 10, "wife": 9, "spouse": 5},
    "father": {"father": 10, "husband": 9, "spouse": 5},
    "spouse": {"spouse": 10, "wife": 10, "husband": 10},
    "wife": {"wife": 10, "spouse": 8, "mother": 5},
    "husband": {"husband": 10, "spouse": 8, "father": 5},
    "child": {"child": 10},
    "legal_rep": {"legal_rep": 10},
    "company": {"company": 10, None: 6, "applicant": 4, "legal_rep": 3},
    "contact": {"contact": 10, "applicant": 7, None: 6},
    "agent": {"agent": 10, "applicant": 6, None: 5},
    "student": {"student": 10, "child": 9},
    "guardian": {"guardian": 10, "applicant": 6, "mother": 5, "father": 5},
    # the person who died is often named through the applicant's relation to them
    "deceased": {"deceased": 10, "father": 4, "mother": 4, "spouse": 4, "wife": 4, "husband": 4},
}
# Fields without a role (落户地址, 出生医院) take any slot, preferring unlabelled ones.
_ANY_ROLE = 5
_UNLABELLED_NO_ROLE = 6
# A value given right after the form asked for this field, and a correction ("不对，是…").
_ASKED = 7
_CORRECTION = 8
_EXPLICIT_LABEL = 20
# Slot types whose owner is the value itself: a USCC or company name is the company's.
_ROLELESS_SLOT_TYPES = {"uscc", "company", "org", "title", "money", "int"}
_WEAK_ROLE_TYPES = {"phone", "address", "date"}
_GENERIC_SURFACES = {"是", "否", "是的", "对", "有", "需要", "要", "不是", "没有", "无", "不需要", "不要", "不"}
_GOVERNMENT = re.compile(r"(局|厅|委|委员会|政府|法院|检察院|派出所|办事处|管委会|服务中心)$")
_CORRECTION_CUE = re.compile(r"不对|错了|写错|说错|改成|改为|更正|应该是|重新|修改|换成")
_ORG_LABEL_TAIL = re.compile(r"(医院|保健院|卫生院|学校|院校|幼儿园|银行|法院|殡仪馆|单位|机构|公司|企业|店|厂)$")
# What an organisation of that kind is called at its end: 报名学校 takes 泉城小学.
_ORG_NOUN_ENDINGS = {"医院": "院心所", "保健院": "院", "卫生院": "院", "学校": "校学", "院校": "校学院",
                     "幼儿园": "园", "银行": "行社点", "法院": "院", "殡仪馆": "馆"}
_NAME_LABEL = re.compile(r"(姓名|名字)")
_COMPANY_NAME_LABEL = re.compile(r"(企业|公司|单位|商户|个体工商户|店铺|字号|市场主体).*名称|^名称$")

_CLAUSE_BREAK = re.compile(r"[，,。；;！!？?\n]")

SOURCE_CONVERSATION, SOURCE_DERIVED, SOURCE_LLM, SOURCE_USER = "conversation", "derived", "llm", "user"
_STICKY_SOURCES = {SOURCE_USER, "e_license"}


_PERSON_LABEL_WORDS = re.compile("|".join(sorted((w for w, r in FIELD_ROLE_LABELS.items() if r != "company"),
                                                  key=len, reverse=True)))
_ROLE_KEYS_LONGEST = sorted(FIELD_ROLE_KEYS.items(), key=lambda kv: -len(kv[0]))
_ROLE_LABELS_LONGEST = sorted(FIELD_ROLE_LABELS.items(), key=lambda kv: -len(kv[0]))


def field_role(f: FormField) -> str | None:
    return _field_role(f.key, f.label)


@functools.lru_cache(maxsize=4096)
def _field_role(key: str, label: str) -> str | None:
    for prefix, role in _ROLE_KEYS_LONGEST:
        if key == prefix or key.startswith(prefix + "_"):
            return role
    for prefix, role in _ROLE_LABELS_LONGEST:
        if label.startswith(prefix):
            return role
    return None


def field_roles(f: FormField) -> tuple[str, ...]:
    """Every role a field can take: a person word in its label (经办人姓名 -> agent, 女方姓名 ->
    wife) says more than its key; an applicant_* key still takes the applicant's values."""
    return _field_roles(f.key, f.label, f.type)


@functools.lru_cache(maxsize=4096)
def _field_roles(key: str, label: str, type_: str) -> tuple[str, ...]:
    base = _field_role(key, label)
    if type_ not in ("text", "id_number", "phone", "date", "address"):
        return (base,) if base else ()
    # A role word counts at the start, after another role word (单位经办人) or inside a bracket
    # (申请人（经营者或经办人）); after any other word it names someone else (新法定代表人).
    found: list[str] = []
    i, eligible, depth = 0, True, 0
    while i < len(label):
        for word, role in _ROLE_LABELS_LONGEST:
            if label.startswith(word, i):
                if (eligible or depth) and role != "company" and role not in found:
                    found.append(role)
                i += len(word)
                break
        else:
            depth += {"（": 1, "(": 1, "）": -1, ")": -1}.get(label[i], 0)
            eligible = False
            i += 1
    if base == "applicant" and "applicant" not in found:
        found.append("applicant")
    return tuple(found) or ((base,) if base else ())


def is_subject_field(f: FormField) -> bool:
    """An applicant_* name, ID or date whose label names no applicant: 残疾人姓名, 持卡人身份证号, 姓名."""
    return (_field_role(f.key, f.label) == "applicant" and f.type in ("text", "id_number", "date")
            and not any(w in f.label for w in APPLICANT_SIDE_LABELS))


def slot_kinds(f: FormField) -> frozenset[str]:
    """Slot types that can fill the field."""
    return _slot_kinds(f.key, f.label, f.type)


@functools.lru_cache(maxsize=4096)
def _slot_kinds(key: str, label: str, type_: str) -> frozenset[str]:
    if type_ in ("id_number", "phone", "date", "address", "uscc", "money", "int"):
        return frozenset({type_})
    if type_ != "text":
        return frozenset()
    core = re.sub(r"（[^）]*）|\([^)]*\)", "", label)  # 法定代表人（负责人）姓名 -> 法定代表人姓名
    if _NAME_LABEL.search(core):
        return frozenset({"name"})
    if _COMPANY_NAME_LABEL.search(core) or (_field_role(key, label) == "company" and key.endswith("name")):
        return frozenset({"company", "org", "title"})
    if _ORG_LABEL_TAIL.search(core):
        return frozenset({"org", "company"})
    if core.endswith("人"):
        return frozenset({"name"})
    if core.endswith("名称") or re.search(r"[^姓]名$", core):
        return frozenset({"title"})  # 项目名称, 船名: a thing the user names (名字叫…), not a person
    if key.endswith("_name"):
        return frozenset({"name"})
    return frozenset()


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\u4e00-\u9fa5A-Za-z0-9]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _label_words(f: FormField) -> frozenset[str]:
    return _label_bigrams(f.label)


@functools.lru_cache(maxsize=4096)
def _label_bigrams(label: str) -> frozenset[str]:
    for prefix in sorted(FIELD_ROLE_LABELS, key=len, reverse=True):
        if label.startswith(prefix):
            label = label[len(prefix):]
            break
    # A person word is matched by role, not as label words: 新法定代表人姓名 shares nothing
    # with "法定代表人王某" but the role, which it does not have.
    label = _PERSON_LABEL_WORDS.sub("|", label)
    return frozenset(_bigrams(label) - {"姓名", "号码", "名称"})


@dataclass
class _Value:
    value: str
    source: str
    valid: bool = True
    error: str | None = None
    turn: int = -1  # which text set it (-1: from ``previous``)


@dataclass
class _Candidate:
    score: float
    pos: int
    key: str
    value: str
    slot_id: int | None = None
    identity: bool = False
    native: bool = False  # the slot's role is the field's own (applicant -> applicant_*)


@dataclass
class _Turn:
    text: str
    slots: list[Slot]
    identities: set[str] = dc_field(default_factory=set)  # roles the applicant also holds
    subject: str | None = None  # whom the application is for when not the user (给我妈申请 -> mother)
    kinds: dict[str, frozenset[str]] = dc_field(default_factory=dict)  # field key -> slot kinds it takes


class FormFiller:
    """Fills a ``Form`` into a ``FormState`` from the session's user messages."""

    def __init__(self, llm: Any = None, llm_timeout_s: float = 8.0):
        self.llm = llm
        self.llm_timeout_s = llm_timeout_s

    # -- public API -------------------------------------------------------

    def fill(self, form: Form, texts: list[str], answers: dict[str, str] | None = None,
             previous: FormState | None = None, scenario_id: str = "", today: dt.date | None = None) -> FormState:
        """Fill ``form`` from ``texts`` (the user's messages, oldest first).

        ``texts`` may be the whole session or only the new messages; ``previous``
        is the state after the last turn. Only the last text overrides a value the
        user typed into the form."""
        answers = answers or {}
        today = today or dt.date.today()
        fields = self._active_fields(form, answers)
        values: dict[str, _Value] = {}
        prev_values: dict[str, _Value] = {}
        if previous:
            for fv in previous.fields:
                if fv.value is not None and fv.value != "":
                    prev_values[fv.key] = _Value(fv.value, fv.source or SOURCE_CONVERSATION, fv.valid, fv.error)

        # What the form was asking for before each message: replayed for older messages,
        # and the previous state's missing list right before the last one.
        asked: list[str] = []  # nothing was asked before the first message
        last_set: dict[str, str] = {}  # slot kind -> key of the field it last filled
        identities = self._identities_in(fields, previous)
        subject = None
        for i, text in enumerate(texts):
            if previous and i == len(texts) - 1:
                asked = list(previous.missing)
            turn = self._read(text, today, identities, subject)
            identities, subject = turn.identities, turn.subject
            for key, cand in self._assign(fields, turn, asked, last_set, today).items():
                f = next(x for x in fields if x.key == key)
                checked = validate(f.type, cand.value, f.options, today=today)
                values[key] = _Value(checked.value, SOURCE_CONVERSATION, checked.valid, checked.error, turn=i)
                for kind in slot_kinds(f) or {f"enum:{key}"}:
                    last_set[kind] = key
            asked = [f.key for f in fields if self._required(f, answers)
                     and not (f.key in values and values[f.key].valid)]

        last = len(texts) - 1
        merged: dict[str, _Value] = {}
        for f in fields:
            new, old = values.get(f.key), prev_values.get(f.key)
            if new and new.turn == last:
                merged[f.key] = new  # the user just said it: it wins, also over their own edit
            elif old and (old.source in _STICKY_SOURCES or not new):
                merged[f.key] = old
            elif new:
                merged[f.key] = new

        if self.llm is not None:
            # Earlier messages were offered to the LLM on their own turns (their values are in ``previous``): only
            # what is new goes in, and nothing goes when the new text has no value the rules could read and no
            # digit ("我要办理…"): the LLM would find nothing there, and on a CPU each call costs seconds.
            new_texts = texts[-1:] if previous is not None else texts
            first_new = len(texts) - len(new_texts)
            if any(v.turn >= first_new for v in values.values()) or any(re.search(r"\d", t) for t in new_texts):
                self._merge_llm(fields, new_texts, merged, today)
        self._derive(fields, merged, today)
        return self._state(form, fields, merged, answers, scenario_id)

    def apply_edits(self, form: Form, state: FormState, edits: dict[str, str],
                    answers: dict[str, str] | None = None, today: dt.date | None = None) -> FormState:
        """The user's own edits in the form: validated, source ``user``; unknown keys are an error.

        Without ``answers`` the 情形 gating of ``state`` is kept: its fields stay, and a
        conditional field counts as required if it was missing or filled before."""
        today = today or dt.date.today()
        by_key = {f.key: f for f in form.fields}
        unknown = sorted(set(edits) - set(by_key))
        if unknown:
            raise ValueError(f"表单 {form.id} 没有这些字段：{', '.join(unknown)}")
        required_keys = None
        if answers is None:
            shown = {fv.key for fv in state.fields}
            fields = [f for f in form.fields if f.key in shown]
            had = {fv.key for fv in state.fields if fv.value not in (None, "")} | set(state.missing)
            required_keys = {f.key for f in fields if f.required and (not f.when or f.key in had)}
            answers = {}
        else:
            fields = self._active_fields(form, answers)
        merged = {fv.key: _Value(fv.value, fv.source or SOURCE_CONVERSATION, fv.valid, fv.error)
                  for fv in state.fields if fv.value not in (None, "")}
        for key, raw in edits.items():
            f = by_key[key]
            if raw is None or str(raw).strip() == "":
                merged.pop(key, None)  # clearing a field is a valid edit
                continue
            checked = validate(f.type, str(raw), f.options, today=today)
            merged[key] = _Value(checked.value, SOURCE_USER, checked.valid, checked.error)
            for d in form.fields:  # a new source value re-derives its dependants
                if d.derived_from == key and d.key not in edits and merged.get(d.key, _Value("", "")).source != SOURCE_USER:
                    merged.pop(d.key, None)
        self._derive(fields, merged, today)
        return self._state(form, fields, merged, answers, state.scenario_id, required_keys)

    # -- reading ----------------------------------------------------------

    @staticmethod
    def _read(text: str, today: dt.date, identities: set[str], subject: str | None = None) -> _Turn:
        slots = _cached_slots(text, today)
        said = {s.value for s in slots if s.type == "relation"}
        # "我是孩子妈妈": the applicant is the mother (a new statement replaces an older one)
        ids = said or set(identities)
        for s in slots:
            if s.type == "subject":
                subject = s.value  # "给我妈申请": the form's own person is the mother
        return _Turn(text=text, slots=slots, identities=ids, subject=subject)

    @staticmethod
    def _identities_in(fields: list[FormField], previous: FormState | None) -> set[str]:
        """Roles the applicant held in ``previous``: the same ID number in applicant_* and mother_*."""
        if not previous:
            return set()
        by_key = {f.key: f for f in fields}
        mine = {fv.value for fv in previous.fields if fv.valid and fv.value and fv.type == "id_number"
                and fv.key in by_key and field_role(by_key[fv.key]) == "applicant"}
        return {field_role(by_key[fv.key]) for fv in previous.fields
                if fv.valid and fv.value in mine and fv.type == "id_number" and fv.key in by_key
                and field_role(by_key[fv.key]) not in (None, "applicant")}

    @staticmethod
    def _active_fields(form: Form, answers: dict[str, str]) -> list[FormField]:
        # A field under a 情形 the user ruled out is not shown; undecided ones are shown, not required.
        return [f for f in form.fields if condition_holds(f.when, answers) is not False]

    @staticmethod
    def _required(f: FormField, answers: dict[str, str]) -> bool:
        return f.required and condition_holds(f.when, answers) is True

    # -- matching ---------------------------------------------------------

    def _fit(self, f: FormField, slot: Slot, turn: _Turn, asked: list[str], last_set: dict[str, str],
             kind: str) -> tuple[float, bool, bool] | None:
        """How well ``slot`` fits field ``f`` (None: not at all), whether only the applicant's
        identity (我是孩子妈妈) makes it fit, and whether the slot's role is the field's own."""
        froles, srole = field_roles(f), slot.role
        subject_field = bool(froles) and turn.subject not in (None, "applicant") and is_subject_field(f)
        if subject_field:
            # 给我妈申请: 残疾人姓名 is the mother's; the user's own values go to the 代办人 fields
            froles = (turn.subject, *(r for r in froles if r != "applicant"))
        if slot.type in _ROLELESS_SLOT_TYPES:
            froles, srole = (), None  # a USCC, company name, amount or count is matched by label words only
        around = self._around(turn, slot)
        overlap = len(_label_words(f) & _bigrams(around))
        if slot.type == "title" and not set(re.sub(r"[的名字称叫是为：:\s]", "", slot.context)) & set(_title_words(f)):
            return None  # "旅馆名字叫…" fills 旅馆名称, not 项目名称
        identity = False
        if slot.type in ("int", "money") and not overlap:
            # "孩子三岁了" is a number, not the 从业人数: counts and amounts need the label's
            # words nearby, a matching unit (12人 -> 人数), or to answer the question just asked.
            units = (slot.raw[-1:] + turn.text[slot.end:slot.end + 1]) if slot.type == "int" else ""  # 8个人
            answer = len(turn.text.strip()) <= len(slot.raw) + 6 and self._first_asked(asked, kind, f.key, turn.kinds)
            if not (any(u in f.label for u in units if "\u4e00" <= u <= "\u9fa5") or answer):
                return None
        if not froles:
            score = _UNLABELLED_NO_ROLE if srole is None else _ANY_ROLE
            if srole is None and slot.type in ("name", "id_number"):
                # a person's name said without a cue is the user's own, unless this field was just asked for
                asked_here = bool(asked) and self._first_asked(asked, kind, f.key, turn.kinds)
                score = _ASKED if asked_here else _ANY_ROLE
        else:
            score = max((s for s in (ROLE_FIT.get(r, {r: 10}).get(srole) for r in froles) if s is not None),
                        default=None)
            if score is None and srole == "applicant" and any(r in turn.identities for r in froles):
                score, identity = 9, True
            elif score is None and "applicant" in froles and srole in turn.identities:
                score, identity = 9, True
            if score is not None and srole in froles and srole != "applicant":
                score += 1  # exactly the label's person (男方 for 申请人（男方）) over a mere applicant
            if score is None and srole is None and subject_field:
                score = _UNLABELLED_NO_ROLE  # the form's own person, said without a cue
            if score is None and srole is None:
                if asked and self._first_asked(asked, kind, f.key, turn.kinds):
                    score = _ASKED
                elif _CORRECTION_CUE.search(turn.text) and last_set.get(kind) == f.key:
                    score = _CORRECTION
                elif overlap:
                    score = _ANY_ROLE
            if score is None:
                return None
        if srole is None and _CORRECTION_CUE.search(turn.text) and last_set.get(kind) == f.key:
            score = max(score, _CORRECTION)
        native = srole is not None and any(ROLE_FIT.get(r, {r: 10}).get(srole, 0) >= 9 for r in froles)
        return score + 2 * overlap, identity, native

    @staticmethod
    def _first_asked(asked: list[str], kind: str, key: str, kinds: dict[str, frozenset[str]]) -> bool:
        for k in asked:
            if kind in kinds.get(k, ()):
                return k == key
        return False

    @staticmethod
    def _around(turn: _Turn, slot: Slot) -> str:
        """The words next to a slot that may name its field: up to 8 characters before and 6 after,
        within its clause and not past a neighbouring value ("1988年7月1日参加工作，想2026年12月1日退休")."""
        text = turn.text
        lo, hi = max(0, slot.start - 8), min(len(text), slot.end + 6)
        values = [s for s in turn.slots if s.type not in ("relation", "subject") and s is not slot]
        for s in values:
            if s.end <= slot.start:
                lo = max(lo, s.end)
            elif s.start >= slot.end:
                hi = min(hi, s.start)
        for m in _CLAUSE_BREAK.finditer(text, lo, slot.start):
            lo = m.end()
        m = _CLAUSE_BREAK.search(text, slot.end, hi)
        if m:
            hi = m.start()
        before = text[lo:slot.start]
        if slot.type == "uscc":
            # "破产企业是A公司，统一社会信用代码…": the code is that company's; its cue counts too
            prev = [s for s in values if s.type in ("company", "org") and 0 <= slot.start - s.end <= 12]
            if prev:
                owner = prev[-1].start
                before = text[max(_sentence_start(text, owner), owner - 8):owner] + before
        return before + text[slot.end:hi]

    def _assign(self, fields: list[FormField], turn: _Turn, asked: list[str], last_set: dict[str, str],
                today: dt.date) -> dict[str, _Candidate]:
        turn.kinds = {f.key: slot_kinds(f) | ({f"enum:{f.key}"} if f.type == "enum" else set()) for f in fields}
        cands: list[_Candidate] = []
        cores = [_bracketless(f.label) for f in fields]
        shared_cores = {c for c in cores if cores.count(c) > 1}
        for f in fields:
            if f.derive and "conversation" not in f.sources:
                continue
            kinds = slot_kinds(f)
            for sid, slot in enumerate(turn.slots):
                if slot.type not in kinds:
                    continue
                if kinds == {"org", "company"} and not self._org_matches(f, slot):
                    continue
                fit = self._fit(f, slot, turn, asked, last_set, slot.type)
                if fit:
                    cands.append(_Candidate(fit[0], slot.start, f.key, slot.value, sid, fit[1], fit[2]))
            if f.type == "enum":
                cands.extend(self._enum_candidates(f, turn, asked, last_set))
            cands.extend(self._explicit(f, turn.text, shared_cores))
        chosen: dict[str, _Candidate] = {}
        used: set[int] = set()
        self._pick(cands, chosen, used)
        # A phone, address or date whose role fits no field (a phone said right after the
        # child's name) is still the user's: place it as if it had no role, after the rest.
        # Names and ID numbers identify a person, so they never move to someone else.
        leftovers = [s.model_copy(update={"role": None}) for i, s in enumerate(turn.slots)
                     if i not in used and s.role is not None and s.type in _WEAK_ROLE_TYPES]
        if leftovers:
            retry: list[_Candidate] = []
            for f in fields:
                if f.key in chosen or (f.derive and "conversation" not in f.sources):
                    continue
                kinds = slot_kinds(f)
                for slot in leftovers:
                    sid = next(i for i, s in enumerate(turn.slots) if s.start == slot.start and s.type == slot.type)
                    if slot.type in kinds and (kinds != {"org", "company"} or self._org_matches(f, slot)):
                        fit = self._fit(f, slot, turn, asked, last_set, slot.type)
                        if fit:
                            retry.append(_Candidate(fit[0] - 1, slot.start, f.key, slot.value, sid))
            self._pick(retry, chosen, used)
        return chosen

    @staticmethod
    def _pick(cands: list[_Candidate], chosen: dict[str, _Candidate], used: set[int]) -> None:
        # Best first; at equal fit the later mention (a correction) wins.
        cands.sort(key=lambda c: (c.score, c.pos), reverse=True)
        via_identity: dict[int, bool] = {}
        for c in cands:
            if c.key in chosen:
                continue
            # A slot fills one field, except that "我是孩子妈妈" lets it fill the applicant's and the mother's.
            if c.slot_id is not None and c.slot_id in used and not (
                    c.identity or (via_identity.get(c.slot_id) and c.native)):
                continue
            chosen[c.key] = c
            if c.slot_id is not None:
                used.add(c.slot_id)
                via_identity.setdefault(c.slot_id, c.identity)

    @staticmethod
    def _org_matches(f: FormField, slot: Slot) -> bool:
        tail = _ORG_LABEL_TAIL.search(re.sub(r"（[^）]*）|\([^)]*\)", "", f.label))
        if not tail or tail.group(1) not in _ORG_NOUN_ENDINGS:
            return not _GOVERNMENT.search(slot.value)  # 税务局 is where you go, not your company
        noun = tail.group(1)
        return noun in slot.value or slot.value[-1] in _ORG_NOUN_ENDINGS[noun]

    def _enum_candidates(self, f: FormField, turn: _Turn, asked: list[str], last_set: dict[str, str]) -> list[_Candidate]:
        text = to_halfwidth(turn.text)
        out: list[_Candidate] = []
        relation_spans = [(s.start, s.end) for s in turn.slots if s.type == "relation"]
        core = _label_core(f)
        seen: list[tuple[int, int]] = []
        for surface, option in enum_surfaces(f.options):
            for a in _find_all(text, surface):
                b = a + len(surface)
                if any(a < y and x < b for x, y in seen):
                    continue  # a longer surface already covers it
                labelled = text.strip() == surface or any(w in text[max(0, a - 5):a] for w in core)
                if (len(surface) == 1 or surface in _GENERIC_SURFACES) and not labelled:
                    continue  # 男/女/是/有 alone are too common: only right after the label (性别：女) or as the reply
                seen.append((a, b))
                cue = next((c for c in sorted(ROLE_CUES, key=len, reverse=True) if surface.endswith(c)), None)
                if any(a < y and x < b for x, y in relation_spans):
                    mrole = "applicant"  # 我是孩子妈妈
                elif cue and len(cue) >= 2 and cue in surface:
                    mrole = ROLE_CUES[cue]  # the option word names a person: 孩子妈妈 is about the mother
                else:
                    mrole = _role_for(text, a, b, [])
                if field_role(f) == "applicant" and mrole != "applicant" and not labelled:
                    continue  # 与逝者关系 is what the applicant says of themself, not any 子女 in the text
                fake = Slot(type=f"enum:{f.key}", value=option, raw=surface, start=a, end=b, role=mrole)
                fit = self._fit(f, fake, turn, asked, last_set, f"enum:{f.key}")
                if fit is None and not cue:
                    # an option word like 男孩 or 随父 is specific enough without a role cue
                    fit = self._fit(f, fake.model_copy(update={"role": None}), turn, asked, last_set, f"enum:{f.key}")
                    fit = fit or (_ANY_ROLE, False, False)
                if fit:
                    out.append(_Candidate(fit[0], a, f.key, option))
        return out

    @staticmethod
    def _explicit(f: FormField, text: str, shared_cores: set[str] = frozenset()) -> list[_Candidate]:
        """'落户地址是…' / '生育津贴收款账号：…': the user named the field. A text field's label
        without its bracket (船名 for 船名（拟定或已核定）) counts when no other field shares it."""
        out = []
        label = f.label
        if label not in text:
            core = _bracketless(label)
            if f.type != "text" or core == label or len(core) < 2 or core in shared_cores or core not in text:
                return out
            label = core
        for m in _label_value_re(label).finditer(text):
            value = m.group(1).strip()
            if value:
                out.append(_Candidate(_EXPLICIT_LABEL, m.start(1), f.key, value))
        return out

    # -- LLM --------------------------------------------------------------

    def _merge_llm(self, fields: list[FormField], texts: list[str], merged: dict[str, _Value], today: dt.date) -> None:
        wanted = [f for f in fields if "conversation" in f.sources and not f.derive
                  and not (f.key in merged and merged[f.key].valid)]
        if not wanted or not any(t.strip() for t in texts):
            return
        try:
            proposed = self._ask_llm(wanted, texts)
        except Exception as exc:  # noqa: BLE001 - the LLM is optional; rules already filled what they could
            log.warning("LLM form extraction ignored: %s: %s", type(exc).__name__, exc)
            return
        said = re.sub(r"\s", "", to_halfwidth("\n".join(texts)))
        said_compact = re.sub(r"[\s\-+]", "", said).upper()
        for f in wanted:
            raw = proposed.get(f.key)
            if raw in (None, "", [], {}) or not isinstance(raw, (str, int, float)):
                continue
            checked = validate(f.type, str(raw), f.options, today=today)
            if not checked.valid:
                continue  # an invalid guess is noise; an invalid user value is already kept by the rules
            if not _grounded(f, str(raw), checked.value, said, said_compact):
                log.info("LLM value for %s not found in the conversation; ignored", f.key)
                continue
            merged[f.key] = _Value(checked.value, SOURCE_LLM, True, None)

    def _ask_llm(self, wanted: list[FormField], texts: list[str]) -> dict[str, Any]:
        schema = json_schema_for(wanted)
        lines = []
        for f in wanted:
            extra = f"，可选值：{'/'.join(f.options)}" if f.options else ""
            lines.append(f"- {f.key}：{f.label}（{_TYPE_HINT[f.type]}{extra}）")
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [
            SystemMessage(content="你是政务服务表单信息抽取助手。只抽取用户明确说出的信息，不要猜测或编造；"
                                  "没提到的字段填 null。只输出一个 JSON 对象。"),
            HumanMessage(content="要填写的字段：\n" + "\n".join(lines) + "\n\n用户说的话：\n"
                         + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts))
                         + "\n\n请输出 JSON，键为上面的字段名。"),
        ]

        cancel = threading.Event()

        def call() -> str:
            # Streamed so that a call we stopped waiting for also stops generating at its
            # next token instead of holding the model (llama.cpp runs one call at a time).
            def run(**kwargs: Any) -> str:
                parts = []
                for chunk in self.llm.stream(messages, **kwargs):
                    if cancel.is_set():
                        break
                    text = chunk if isinstance(chunk, str) else getattr(chunk, "content", "")
                    parts.append(text if isinstance(text, str) else str(text))
                return "".join(parts)

            try:
                return run(response_format={"type": "json_object", "schema": schema})
            except TypeError:  # a backend without response_format: ask for JSON in words only
                return run()

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="daoban-prefill-llm")
        try:
            content = pool.submit(call).result(timeout=self.llm_timeout_s)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no answer within {self.llm_timeout_s:.1f}s") from None
        finally:
            cancel.set()
            pool.shutdown(wait=False)
        return parse_json_object(content)

    # -- derived fields and the state -------------------------------------

    @staticmethod
    def _derive(fields: list[FormField], merged: dict[str, _Value], today: dt.date) -> None:
        for f in fields:
            if not (f.derived_from and f.derive):
                continue
            if f.key in merged and merged[f.key].source in _STICKY_SOURCES:
                continue
            src = merged.get(f.derived_from)
            info = id_number_info(src.value, today) if src and src.valid else None
            if info is None:
                if f.key in merged and merged[f.key].source == SOURCE_DERIVED:
                    del merged[f.key]  # its source went away or became invalid
                continue
            raw = {"birth_date": info.birth_date.isoformat(), "gender": info.gender, "age": str(info.age),
                   "region": info.region_name or info.region_code}[f.derive]
            checked = validate(f.type, raw, f.options, today=today)
            merged[f.key] = _Value(checked.value, SOURCE_DERIVED, checked.valid, checked.error)

    def _state(self, form: Form, fields: list[FormField], merged: dict[str, _Value],
               answers: dict[str, str], scenario_id: str, required_keys: set[str] | None = None) -> FormState:
        out, missing = [], []
        for f in fields:
            v = merged.get(f.key)
            out.append(FormFieldValue(key=f.key, label=f.label, type=f.type, value=v.value if v else None,
                                      source=v.source if v else None, valid=v.valid if v else True,
                                      error=v.error if v else None))
            required = f.key in required_keys if required_keys is not None else self._required(f, answers)
            if required and (v is None or not v.valid):
                missing.append(f.key)
        return FormState(form_id=form.id, scenario_id=scenario_id, fields=out, missing=missing)


@functools.lru_cache(maxsize=4096)
def _label_value_re(label: str) -> re.Pattern:
    return re.compile(re.escape(label) + r"\s*(?:叫做|是|为|填|写|在|叫)?\s*[：:]?\s*([^，。；;,!！?？\n]+)")


@functools.lru_cache(maxsize=512)
def _cached_slots(text: str, today: dt.date) -> tuple[Slot, ...]:
    # Each turn re-reads the session; a message's slots never change for the same day.
    return tuple(extract_slots(text, today=today))


def _find_all(text: str, sub: str):
    i = text.find(sub)
    while i >= 0:
        yield i
        i = text.find(sub, i + 1)


def _bracketless(label: str) -> str:
    return re.sub(r"（[^）]*）|\([^)]*\)", "", label)


def _title_words(f: FormField) -> str:
    """The label without brackets and the words every name label shares: 旅馆（企业）名称 -> 旅馆."""
    return re.sub(r"（[^）]*）|\([^)]*\)|名称|名字|姓名|名", "", f.label)


def _label_core(f: FormField) -> list[str]:
    label = f.label
    for prefix in FIELD_ROLE_LABELS:
        label = label.replace(prefix, "")
    return [w for w in (label[-2:], label) if len(w) >= 2]


_TYPE_HINT = {
    "text": "文本", "id_number": "18位身份证号", "phone": "手机号或固定电话", "date": "日期，YYYY-MM-DD",
    "enum": "选项", "address": "详细地址", "uscc": "18位统一社会信用代码", "money": "金额，单位元", "int": "整数",
}


def json_schema_for(fields: list[FormField]) -> dict[str, Any]:
    """A JSON schema with one nullable string property per field (enums list their options)."""
    props: dict[str, Any] = {}
    for f in fields:
        prop: dict[str, Any] = {"type": ["string", "null"], "description": f.label}
        if f.options:
            prop["enum"] = [*f.options, None]
        props[f.key] = prop
    return {"type": "object", "properties": props}


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's answer (tolerates ```json fences and chatter)."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        raise ValueError("the model's answer has no JSON object")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    if not isinstance(obj, dict):
        raise ValueError("the model's answer is not a JSON object")
    return obj


def _grounded(f: FormField, raw: str, value: str, said: str, said_compact: str) -> bool:
    """An LLM value counts only if the user said it (dates, money and counts may be reworded)."""
    if f.type in ("date", "money", "int", "enum"):
        return True
    if f.type in ("id_number", "phone", "uscc"):
        digits = re.sub(r"[\s\-+]", "", to_halfwidth(value)).upper()
        return digits in said_compact or digits.removeprefix("86") in said_compact
    return re.sub(r"\s", "", to_halfwidth(raw)) in said


def missing_prompt(state: FormState) -> str:
    """A Chinese sentence asking for what the form still needs ("" when nothing)."""
    by_key = {f.key: f for f in state.fields}
    empty = [by_key[k].label for k in state.missing if k in by_key and not by_key[k].value]
    wrong = [f"{by_key[k].label}（{by_key[k].error or '格式不对'}）" for k in state.missing
             if k in by_key and by_key[k].value and not by_key[k].valid]
    parts = []
    if empty:
        parts.append("还需要您提供：" + "、".join(empty) + "。")
    if wrong:
        parts.append("请核对并重新提供：" + "；".join(wrong) + "。")
    return "".join(parts)
