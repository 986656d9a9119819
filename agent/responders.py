"""Responders: replies that need no routing (status, complaint, human, chitchat, out of scope, no match),
chosen from a table keyed by intent. Their words are data (``data/replies.yaml``); channel words (12345,
the service platform) come from the region file where it has them."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from agent.normalize import Message
from agent.privacy import MOBILE_RE
from agent.status import receipt_candidates
from corpus.datafile import load_data_file
from index.text import normalize

if TYPE_CHECKING:
    from corpus.enrich import Department, Departments
    from corpus.loader import Corpus
    from agent.status import StatusLookup
    from corpus.schema import Region

log = logging.getLogger("daoban.agent")

DATA_FILE = Path(__file__).parent / "data" / "replies.yaml"


class Chips(BaseModel):
    model_config = ConfigDict(extra="forbid")

    human: str
    apply: str
    status: str


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complaint: str
    human: str
    chitchat: str
    meta: str
    out_of_scope: str
    no_match: str
    department: str
    department_matters: str
    apply_elsewhere: str
    apply_elsewhere_collected: str
    no_link: str
    handoff: str
    error: str
    held: str
    held_nothing: str
    held_ask: str
    form_kept: str
    form_parked: str
    form_replaced: str
    form_dropped: str
    corrected: str


class ReplyTexts(BaseModel):
    """``data/replies.yaml``."""

    model_config = ConfigDict(extra="forbid")

    example_question: str
    chips: Chips
    aspect_chips: dict[str, str]
    texts: Texts

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "ReplyTexts":
        return load_data_file(path, cls)


@dataclass
class Simple:
    answer: str
    handoff: bool = False
    suggestions: list[str] = field(default_factory=list)


@dataclass
class Ask:
    """What a responder reads: the message, the region's channels, and whether the message talks to the
    assistant about itself (its prompt, a role)."""

    msg: Message
    region: "Region | None"
    meta: bool = False
    session_id: str | None = None  # a lookup that guards its records (tickets) answers only their owner


class Responder(Protocol):
    def run(self, ask: Ask) -> Simple: ...


def _hotline(region: "Region | None") -> str:
    return region.hotline if region else "12345"


def _platform(region: "Region | None") -> str:
    return region.platform if region and region.platform else "当地政务服务平台"


def _fill(text: str, region: "Region | None", words: ReplyTexts) -> str:
    return text.format(hotline=_hotline(region), platform=_platform(region), example=words.example_question)


@dataclass
class StatusResponder:
    """办件查询 through a ``StatusLookup``; else where to check."""

    lookup: "StatusLookup | None"
    words: ReplyTexts

    def run(self, ask: Ask) -> Simple:
        region = ask.region
        where = (region.status_lookup if region and region.status_lookup
                 else f"{_platform(region)}「我的办件」、受理窗口或拨打{_hotline(region)}")
        candidates = receipt_candidates(ask.msg.raw)
        phone = MOBILE_RE.search(ask.msg.raw)
        contact = re.sub(r"\D", "", phone.group(0)) if phone else None
        for no in candidates if self.lookup is not None else []:
            found = self._found(no, where, ask.session_id, contact)
            if found is not None:
                return found
        if candidates:
            return Simple(f"没有查到受理编号 {candidates[0]} 的记录。请核对编号；"
                          f"在其他渠道提交的申请，请通过{where}查询。", suggestions=[self.words.chips.human])
        return Simple(f"请提供您的受理编号（提交申请后收到的回执号），我来帮您查询。\n也可以通过{where}查询办理进度。")

    def _found(self, receipt_no: str, where: str, session_id: str | None, contact: str | None) -> Simple | None:
        try:
            status = self.lookup.lookup(receipt_no, session_id=session_id, contact=contact)
        except Exception:  # noqa: BLE001 - a broken lookup must not break the reply
            log.exception("status lookup failed")
            return None
        if status is None:
            return None
        lines = [f"{status.number_label} {status.receipt_no}（{status.scenario_title}）当前状态：{status.status}。",
                 f"提交时间：{status.submitted_at:%Y-%m-%d %H:%M}。"]
        if status.departments:
            lines.append("办理部门：" + "、".join(status.departments) + "。")
        if status.promised_days is not None:
            lines.append(f"承诺时限：{status.promised_days}个工作日。")
        lines.append(f"如有疑问，可查询{where}。")
        return Simple("\n".join(lines))


@dataclass
class ComplaintResponder:
    """12345, 好差评 and the 办不成事 window, and a handoff."""

    words: ReplyTexts

    def run(self, ask: Ask) -> Simple:
        return Simple(_fill(self.words.texts.complaint, ask.region, self.words), handoff=True)


@dataclass
class HumanResponder:
    words: ReplyTexts

    def run(self, ask: Ask) -> Simple:
        return Simple(_fill(self.words.texts.human, ask.region, self.words), handoff=True)


@dataclass
class ChitchatResponder:
    words: ReplyTexts

    def run(self, ask: Ask) -> Simple:
        chips = self.words.chips
        return Simple(_fill(self.words.texts.chitchat, ask.region, self.words),
                      suggestions=[self.words.example_question, chips.status, chips.human])


@dataclass
class OutOfScopeResponder:
    """Not a government service; or words aimed at the assistant itself, which it declines."""

    words: ReplyTexts

    def run(self, ask: Ask) -> Simple:
        if ask.meta:
            return Simple(_fill(self.words.texts.meta, ask.region, self.words),
                          suggestions=[self.words.example_question])
        return Simple(_fill(self.words.texts.out_of_scope, ask.region, self.words),
                      suggestions=[self.words.example_question, self.words.chips.human])


# A department is named from retrieval alone only when its catalogue matters among the (unconfident) hits add up
# to this calibrated score: below it the hits are noise, and naming a department would mislead.
MIN_HIT_EVIDENCE = 0.25
HINT_HITS = 5        # how many hits vote for a department
HINT_MATTERS = 3     # how many of its matters among the hits the reply names


@dataclass
class DepartmentHint:
    department: "Department"
    link: str
    matters: list[str]


def department_hint(text: str, hits: list, corpus: "Corpus", departments: "Departments | None") -> DepartmentHint | None:
    """Which catalogue department handles the kind of need a message describes, when no matter is confident:
    the department whose plain domain words the message uses most (longer words say more), its catalogue
    matters among the hits breaking ties; else the department whose catalogue matters the hits favour."""
    if departments is None:
        return None
    by_name = departments.by_name()
    named = {d.name: sum(len(w) for w in d.domain if normalize(w) in text) for d in departments.departments}
    votes: dict[str, float] = {}
    matters: dict[str, list[str]] = {}
    for h in hits[:HINT_HITS]:
        doc = corpus.catalog.get(h.doc_id)
        if doc is None or doc.department not in by_name:
            continue
        votes[doc.department] = votes.get(doc.department, 0.0) + h.score
        matters.setdefault(doc.department, []).append(doc.title)
    ranked = sorted(by_name, key=lambda n: (-named[n], -votes.get(n, 0.0), n))
    best = ranked[0] if ranked else None
    if best is None or (named[best] == 0 and votes.get(best, 0.0) < MIN_HIT_EVIDENCE):
        return None
    dept = by_name[best]
    return DepartmentHint(dept, dept.link or departments.catalogue_link, matters.get(best, [])[:HINT_MATTERS])


@dataclass
class NoMatchResponder:
    """No guide answers the message: the department that handles that kind of need when the region's catalogue
    says (with its catalogue link), else 12345 and the service centre; a handoff after repeated failures."""

    words: ReplyTexts

    def run(self, ask: Ask, handoff: bool = False, hint: DepartmentHint | None = None) -> Simple:
        text = _fill(self.words.texts.no_match, ask.region, self.words) if hint is None else self._hint(ask, hint)
        if handoff:
            text += "\n" + self.words.texts.handoff
        return Simple(text, handoff=handoff, suggestions=[self.words.chips.human])

    def _hint(self, ask: Ask, hint: DepartmentHint) -> str:
        d = hint.department
        matters = self.words.texts.department_matters.format(matters="、".join(f"「{m}」" for m in hint.matters)) \
            if hint.matters else ""
        return self.words.texts.department.format(
            department=d.full_name or d.name, name=d.name, domain="、".join(d.domain[:6]), link=hint.link,
            matters=matters, hotline=_hotline(ask.region), platform=_platform(ask.region))


def responder_table(words: ReplyTexts, status_lookup: "StatusLookup | None") -> dict[str, Responder]:
    """The responder for each intent that needs no guide."""
    return {"query_status": StatusResponder(status_lookup, words), "complaint": ComplaintResponder(words),
            "human": HumanResponder(words), "chitchat": ChitchatResponder(words),
            "out_of_scope": OutOfScopeResponder(words)}
