"""Scoring one case on the reply to its last turn. Pure functions: tested on hand-made replies."""
from __future__ import annotations

import functools
import re
import unicodedata

from opencc import OpenCC
from typing import Iterable

from pydantic import BaseModel, Field

from agent.reply import Reply
from eval.cases import Case

_TITLE_NOISE = re.compile(r"[\s\"'“”‘’《》「」『』()（）]+")
_VALUE_NOISE = re.compile(r"[\s\-—_/.:：,，]+")

# What each expected kind requires of the intent.
INTENT_OF_KIND = {
    "consult": "consult", "apply": "apply", "out_of_scope": "out_of_scope", "chitchat": "chitchat",
    "complaint": "complaint", "human": "human", "query_status": "query_status",
}


def normalize_title(title: str) -> str:
    """Titles match ignoring the 一件事 suffix, quotes, brackets and spaces."""
    t = unicodedata.normalize("NFKC", title or "")
    t = _TITLE_NOISE.sub("", t)
    return t.removesuffix("一件事")


def titles_match(a: str | None, b: str | None) -> bool:
    """``b`` may list acceptable titles as ``x|y`` (the same answer lives in more than one document)."""
    if not a or not b:
        return False
    return any(normalize_title(a) == normalize_title(alt) for alt in b.split("|") if alt)


@functools.lru_cache(maxsize=1)
def _t2s():
    return OpenCC("t2s")


def _plain(text: str) -> str:
    """Width, case and Traditional/Simplified folded, so an answer is judged on its facts."""
    return _t2s().convert(unicodedata.normalize("NFKC", text or "")).lower()


def normalize_value(value: str) -> str:
    return _VALUE_NOISE.sub("", unicodedata.normalize("NFKC", str(value or ""))).upper()


def fact_present(fact: str, text: str) -> bool:
    """``a|b`` means either alternative satisfies the fact. Matching ignores width, case and
    Traditional/Simplified."""
    haystack = _plain(text)
    return any(_plain(alt) in haystack for alt in fact.split("|") if alt)


class SlotScore(BaseModel):
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    # Facts said about a person for whom the form has no field of that kind (people expectations only).
    unplaced: int = 0

    def __add__(self, other: "SlotScore") -> "SlotScore":
        return SlotScore(**{k: getattr(self, k) + getattr(other, k) for k in SlotScore.model_fields})


class CaseResult(BaseModel):
    id: str
    kind: str
    target: str | None
    channel: str
    resolved: bool
    reasons: list[str] = Field(default_factory=list, description="why it failed; empty when resolved")
    intent_expected: str | None = None
    intent_got: str
    route_title: str | None = None
    route_ok: bool | None = None     # None: the case has no target
    route_exact: bool | None = None  # the expected title itself, not the other half of its bundle
    clarified: bool = False
    clarify_expected: bool = False
    slots: SlotScore = Field(default_factory=SlotScore)
    # Required fields of the opened form, and how many of them the conversation filled (the prefill rate).
    required_fields: int = 0
    prefilled_fields: int = 0
    # The same after the speaker signed in and the draft was refilled from their household's licences
    # (eval/licences.py, --licences household); None when not measured. The slots above stay the conversation's.
    licence_required_fields: int | None = None
    licence_prefilled_fields: int | None = None
    licence_conflicts: list[str] = Field(default_factory=list, description="labels whose conversation value a "
                                         "licence contradicted (reported to the user, the certified value filled)")
    licence_missing: list[str] = Field(default_factory=list, description="required fields (keys) still empty after "
                                       "the sign-in: what neither the conversation nor a licence filled")
    target_rank: int | None = None   # retrieval rank of the target (1-based), None when absent/not measured
    single_turn: bool = True
    latency_ms: int = 0
    verifier_fallback: bool | None = None
    # 精准回答: a consult with required facts, routed right: whether the reply's first line states them all (the
    # detail asked, before the guide's sections); None for other cases.
    fact_first: bool | None = None
    answer: str = ""


def score_slots(expected: dict[str, str], reply: Reply) -> tuple[SlotScore, list[str]]:
    score, reasons = SlotScore(), []
    fields = reply.form.fields if reply.form else []
    for pattern, want in expected.items():
        alternatives = [p for p in pattern.split("|") if p]
        # A label equal to the pattern is meant; only without one does a label containing it count
        # (so 出生日期 does not also judge the derived 申请人出生日期).
        matching = [f for f in fields if any(a == f.label or a == f.key for a in alternatives)] or \
                   [f for f in fields if any(a in f.label for a in alternatives)]
        reason = _judge(score, [f.value for f in matching if f.value], want)
        if reason:
            reasons.append(f"slot {pattern}: expected {want!r}, "
                           + (reason if matching else "no form field with that label"))
    return score, reasons


def _judge(score: SlotScore, got: list[str], want: str) -> str | None:
    """Count one expected value against what its fields hold; why it failed, or None."""
    if any(normalize_value(v) == normalize_value(want) for v in got):
        score.true_positive += 1
        return None
    score.false_negative += 1
    if got:
        score.false_positive += 1
        return f"form holds {got[0]!r}"
    return "not filled"


# Which fields hold a person's fact: the attribute's field type, and for a name a text field keyed *name.
_ATTRIBUTE_FIELD = {
    "name": lambda f: f.type == "text" and (f.key == "name" or f.key.endswith("_name")),
    "id_number": lambda f: f.type == "id_number",
    "phone": lambda f: f.type == "phone",
}


# Subjects that are not a person: whoever speaks applies for them as their 法定代表人 or 经办人. A case's subject
# there is the company, or the person the company applies about (减员 for an employee).
ORGANISATION_ROLES = frozenset({"company"})
ORGANISATION_PEOPLE = frozenset({"employee", "pharmacist"})
# A speaker and a subject who are a couple.
COUPLE_ROLES = frozenset({"spouse", "wife", "husband"})


def _person_roles(person: str, subject_role: str, relation: str | None, couple: bool = False) -> set[str]:
    """The field roles that hold ``person``'s facts. The subject (whom the application is for) is the form's
    ``subject_role``; the speaker acting for someone else is the applicant, agent or guardian, or the role they
    have towards the subject (a mother applying for her newborn fills the mother fields too). ``couple``: the form
    has a spouse's side (女方), so it is the couple's."""
    subject = {subject_role, "subject"}
    if subject_role == "applicant" and relation in COUPLE_ROLES and couple:
        # a couple's form (结婚登记, 生育登记): both are applicants, the sides are 男方/女方 by sex, not by who speaks
        return {"applicant", "subject", *COUPLE_ROLES}
    if person == "subject":
        return subject | ORGANISATION_PEOPLE if subject_role in ORGANISATION_ROLES else subject
    if subject_role in ORGANISATION_ROLES:  # a person never is the company: they apply as its representative
        return {"applicant", "agent", "legal_rep"} | ({relation} if relation else set())
    if relation is None:  # applying for themselves
        return subject | {"applicant"}
    speaker = {"agent", "guardian", relation}
    return speaker if subject_role == "applicant" else speaker | {"applicant"}


def score_people(people: dict, relation: str | None, reply: Reply) -> tuple[SlotScore, list[str]]:
    """Form-blind slots: each fact said about the speaker or the subject must be in a field of that person's
    role and that kind. A fact the form has no such field for is counted apart (unplaced), not as a miss."""
    score, reasons = SlotScore(), []
    form = reply.form
    fields = form.fields if form else []
    subject_role = form.subject_role if form else "subject"
    # a form for one applicant (失业登记) is no couple's: the spouse who speaks has no field there
    couple = any(f.role in COUPLE_ROLES for f in fields)
    for person, facts in people.items():
        roles = _person_roles(person, subject_role, relation, couple)
        for attribute, want in facts.model_dump(exclude_none=True).items():
            matching = [f for f in fields if f.role in roles and _ATTRIBUTE_FIELD[attribute](f)]
            if not matching:
                score.unplaced += 1
                if form is None:
                    score.false_negative += 1  # no form at all: nothing was placed
            elif reason := _judge(score, [f.value for f in matching if f.value], want):
                reasons.append(f"{person} {attribute}: expected {want!r}, {reason}")
    return score, reasons


class Bundles:
    """Which titles answer the same need: a 一件事 and each of its member matters, and a standalone FAQ and each
    guide it belongs to (``related``). A consult routed to the other one of such a pair counts as routed right when
    the answer holds every required fact (a question about one step may go to the matter, one about the whole life
    event to the 一件事; an FAQ's answer is given with its guide)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._pairs = {frozenset((normalize_title(a), normalize_title(b))) for a, b in pairs}

    @classmethod
    def from_corpus(cls, corpus) -> "Bundles":
        members = [(sc.title, corpus.matters[m.matter].title) for sc in corpus.scenarios.values()
                   for m in sc.members if m.matter in corpus.matters]
        faqs = [(f.question, corpus.get(r).title) for f in corpus.faqs.values() for r in f.related
                if corpus.get(r) is not None]
        return cls(members + faqs)

    def related(self, title: str | None, target: str | None) -> bool:
        if not title or not target:
            return False
        return any(frozenset((normalize_title(title), normalize_title(alt))) in self._pairs
                   for alt in target.split("|") if alt)


def score_case(case: Case, reply: Reply, target_rank: int | None = None,
               verifier_fallback: bool | None = None, bundles: Bundles | None = None) -> CaseResult:
    e = case.expect
    reasons: list[str] = []
    route_title = reply.route.title if reply.route else None
    route_exact = titles_match(route_title, e.target) if e.target else None
    # The other half of a 一件事/member pair is routed right: for a consult when the answer holds every required
    # fact; for an application when its form opened (the 一件事's one form includes the member matter's
    # application, and the matter's form is part of the 一件事); the slots are judged on whichever form it is.
    related = bundles is not None and bundles.related(route_title, e.target)
    route_ok = route_exact or related and (
        e.kind == "consult" and all(fact_present(f, reply.answer) for f in e.must)
        or e.kind == "apply" and reply.form is not None) if e.target else None
    # Only "which service did you mean" counts as clarifying here; a 情形 question comes with a route.
    clarified = reply.clarify is not None and reply.clarify.kind == "route" and bool(reply.clarify.options)
    result = CaseResult(
        id=case.id, kind=e.kind, target=e.target, channel=case.channel, resolved=False,
        intent_expected=INTENT_OF_KIND.get(e.kind), intent_got=reply.intent.name, route_title=route_title,
        route_ok=route_ok, route_exact=route_exact, clarified=clarified, clarify_expected=e.kind == "clarify",
        target_rank=target_rank, latency_ms=reply.latency_ms, verifier_fallback=verifier_fallback,
        single_turn=not case.turns,
        answer=reply.answer,
    )

    def route_reason() -> None:
        if not route_ok:
            reasons.append(f"route: expected {e.target!r}, got {route_title!r}"
                           + (" (asked a clarifying question instead)" if clarified else ""))

    if e.kind == "consult":
        route_reason()
        missing = [f for f in e.must if not fact_present(f, reply.answer)]
        if missing:
            reasons.append("answer lacks " + ", ".join(repr(m) for m in missing))
        if e.must and route_ok:
            first_line = reply.answer.strip().split("\n", 1)[0]
            result.fact_first = all(fact_present(f, first_line) for f in e.must)
        present = [f for f in e.must_not if fact_present(f, reply.answer)]
        if present:
            reasons.append("answer contains " + ", ".join(repr(m) for m in present))
        if not reply.citations:
            reasons.append("no citation")
    elif e.kind == "apply":
        route_reason()
        if reply.form is None:
            reasons.append("no form opened")
        result.slots, slot_reasons = score_slots(e.slots, reply)
        people, people_reasons = score_people(e.people, e.relation, reply)
        result.slots += people
        reasons += slot_reasons + people_reasons
        if reply.form is not None:
            required = [f for f in reply.form.fields if f.required]
            result.required_fields = len(required)
            result.prefilled_fields = sum(bool(f.value) and f.valid for f in required)
    elif e.kind == "clarify":
        offered = [o.title for o in reply.clarify.options] if clarified else []
        routed_to_option = any(titles_match(route_title, o) for o in e.options) and not clarified
        # A case that names no options asks only that the assistant ask which service (我想变更一下信息).
        offered_ok = (clarified and not e.options) or \
            any(titles_match(t, o) or fact_present(o, t) for t in offered for o in e.options)
        if not (offered_ok or routed_to_option):
            if clarified:
                reasons.append(f"clarify offered {offered}, none of {e.options}")
            else:
                reasons.append(f"no clarifying question (routed to {route_title!r}), expected one of {e.options}")
    elif e.kind in ("out_of_scope", "chitchat"):
        if reply.route is not None:
            reasons.append(f"routed to {route_title!r}; expected no route")
        if reply.intent.name != e.kind:
            reasons.append(f"intent {reply.intent.name}, expected {e.kind}")
        if not reply.answer.strip():
            reasons.append("empty answer")
    elif e.kind == "complaint":
        if reply.intent.name != "complaint":
            reasons.append(f"intent {reply.intent.name}, expected complaint")
        if not (reply.handoff or "12345" in reply.answer):
            reasons.append("no handoff and no 12345 channel")
    elif e.kind == "human":
        if not reply.handoff:
            reasons.append("no handoff")
    elif e.kind == "query_status":
        if reply.intent.name != "query_status":
            reasons.append(f"intent {reply.intent.name}, expected query_status")
        missing = [f for f in e.must if not fact_present(f, reply.answer)]
        if missing:
            reasons.append("answer lacks " + ", ".join(repr(m) for m in missing))
    result.reasons = reasons
    result.resolved = not reasons
    return result
