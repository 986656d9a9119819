"""Composer: from a routed document to the template answer, with citations.

Every fact in a composed answer is read from the document; every section used
is cited. Nothing here names a scenario or matter."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.reply import Citation
from corpus.schema import condition_holds

if TYPE_CHECKING:
    from corpus.loader import Corpus
    from corpus.schema import CatalogMatter, Condition, FAQ, Material, MatterGuide, Region, Scenario, Situation, TimeLimit

SECTION_TITLES = {
    "summary": "事项说明", "conditions": "办理条件", "members": "包含事项", "materials": "所需材料",
    "steps": "办理流程", "time_limit": "办理时限", "fee": "收费标准", "places": "办理地点",
    "online": "网上办理", "phone": "咨询电话", "faq": "常见问题", "answer": "解答", "catalog": "事项目录",
    "situation": "适用情形",
}
ASPECT_ORDER = ["conditions", "materials", "steps", "time_limit", "fee", "places", "online", "phone"]


# --- composing ------------------------------------------------------------------------------------

@dataclass
class Composed:
    """A grounded answer: text blocks per section, their sources, and short forms for other channels."""

    title: str
    doc_id: str
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (section, text), in display order
    citations: list[Citation] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)         # section -> source text (for the verifier)
    spoken: str = ""                                              # one or two sentences for the hotline
    summary_facts: str = ""                                       # the spoken facts, what never varies first (LLM)
    checklist: list[str] = field(default_factory=list)            # materials, one per line
    notes: list[str] = field(default_factory=list)                # 情形 notes, questions
    evidence: list[str] = field(default_factory=list)             # the sentence answering a detail question

    @property
    def text(self) -> str:
        parts = []
        for section, body in self.blocks:
            head = SECTION_TITLES.get(section.split(":")[0], section)
            parts.append(body if section in ("evidence", "lead", "question") else f"**{head}**\n{body}")
        return "\n\n".join(p for p in parts if p)

    def llm_facts(self) -> str:
        """The few facts the LLM phrases from: the focused sections, else the spoken summary (the phraser clips
        them: short keeps it fast).

        A guide's summary is warmed into the prompt cache at start-up; focused sections vary with the question, so
        the model reads them on the user's time (about 15 ms a token here). They go in compact form: a FAQ's answer
        without its question, a material list as names."""
        blocks = [(s, b) for s, b in self.blocks if s != "evidence"]
        focused = [(s, b) for s, b in blocks if s not in ("lead", "question", "members", "conditions", "steps")]
        if len(blocks) > 5 or not focused:
            facts = self.summary_facts or self.spoken
        else:
            facts = "\n".join(_compact_fact(s, b) for s, b in focused)
        # the sentence that answers a detail question goes first: the phraser's clip keeps it
        return "\n".join([*self.evidence, facts])

    def lead_with(self, line: str, section: str, source: str, guide: tuple[str, str] | None = None) -> None:
        """Put ``line`` first: the sentence of ``section`` that answers a detail question, cited first (as read
        from ``guide``, another guide of the bundle, when given)."""
        self.blocks.insert(0, ("evidence", line))
        self.sources["evidence"] = source
        doc_id, title = guide or (self.doc_id, self.title)
        self.citations.insert(0, Citation(doc_id=doc_id, title=title, section=section, snippet=_snippet(source)))
        self.evidence.append(source)

    def answer_first(self, faq: "FAQ") -> None:
        """A standalone FAQ that answers the message, first and cited as itself, before its guide's sections."""
        self.blocks.insert(0, ("answer", f"问：{faq.question}\n答：{faq.answer}"))
        self.sources["answer"] = faq.answer
        self.citations.insert(0, Citation(doc_id=faq.id, title=faq.question, section="answer",
                                          snippet=_snippet(faq.answer)))
        self.evidence.insert(0, faq.answer)

    def add(self, section: str, body: str, source: str | None = None, cite: bool = True) -> None:
        if not body:
            return
        self.blocks.append((section, body))
        if cite:
            src = source if source is not None else body
            self.sources[section] = src
            self.citations.append(Citation(doc_id=self.doc_id, title=self.title,
                                           section=section, snippet=_snippet(src)))


def _compact_fact(section: str, body: str) -> str:
    if section.startswith("faq:") and "\n答：" in body:
        return body.split("\n答：", 1)[1]
    if section == "materials":
        groups: dict[str, list[str]] = {}  # 情形 tag ("" when none) -> material names, in order
        for line in body.splitlines():
            m = re.match(r"^(?:- )?(?:【([^】]*)】)?\s*(.*)$", line.strip())
            name = re.split(r"[（(【：:]", m.group(2), maxsplit=1)[0].strip()
            if name:
                mark = "（免提交）" if "免提交" in line else "（部分情形）" if "仅限" in line else ""
                groups.setdefault(m.group(1) or "", []).append(name + mark)
        if not groups:
            return body
        return "需要准备：" + "；".join((f"{tag}的：" if tag else "") + "、".join(names)
                                     for tag, names in groups.items()) + "。"
    return body


def _snippet(text: str, n: int = 120) -> str:
    text = re.sub(r"\s+", " ", text.replace("**", "")).strip()
    return text if len(text) <= n else text[: n - 1] + "…"


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items if i)


def _numbered(items: list[str]) -> str:
    return "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1) if i)


def material_line(m: "Material", extra: str = "") -> str:
    parts = [m.name]
    form = ("" if m.form in m.name else m.form) + (f" {m.count}份" if m.count > 1 else "")
    if m.count == 0:
        form = m.form + "（仅查验）"
    if form.strip():
        parts.append(f"（{form.strip()}）")
    if m.exempt:
        parts.append(f"【免提交：{m.exempt_reason}】" if m.exempt_reason else "【免提交】")
    if not m.required:
        parts.append("（非必需）")
    line = "".join(parts)
    if m.notes:
        line += f"：{m.notes}"
    return line + extra


def time_line(t: "TimeLimit | None") -> str:
    if t is None:
        return ""
    line = "，".join(t.parts(promised="承诺{}内办结", on_the_spot="即办（当场办结）"))
    if t.note:
        line = f"{line}。{t.note}" if line else t.note
    return line


def _option_title(scenario: "Scenario", qid: str, oid: str) -> str:
    for q in scenario.questions:
        if q.id == qid:
            for o in q.options:
                if o.id == oid:
                    return o.title
    return oid


def _when_text(scenario: "Scenario", when: "Condition | None") -> str:
    if not when:
        return ""
    parts = ["或".join(_option_title(scenario, qid, o) for o in opts) for qid, opts in when.items()]
    return "（仅限：" + "；".join(parts) + "）"


class AnswerComposer:
    """The template answer: tailored to the 情形 answers, focused on the aspects asked about."""

    def __init__(self, corpus: "Corpus"):
        self.corpus = corpus

    def region_of(self, region_name: str) -> "Region | None":
        return self.corpus.region_of(region_name)

    def run(self, doc, answers: dict[str, str], aspects: list[str], faq_sections: list[str] | None = None,
            situation: "Situation | None" = None) -> Composed:
        """``situation``: a matter guide's situation the user is in (``SituationResolver.matter_situation``)."""
        kind = doc.kind
        if kind == "scenario":
            return self.scenario(doc, answers, aspects, faq_sections or [])
        if kind == "matter":
            return self.matter(doc, aspects, faq_sections or [], situation)
        if kind == "faq":
            return self.faq(doc)
        return self.catalog(doc)

    # Shared tail: steps, time, fee, places, online, phone, with focus on what was asked.
    def _common(self, c: Composed, doc, aspects: list[str], steps: list[str], tl: "TimeLimit | None",
                fee: str | None, conditions: list[str]) -> None:
        show = set(aspects) if aspects else set(ASPECT_ORDER)
        if "conditions" in show and conditions:
            c.add("conditions", _bullets(conditions))
        # materials are added by the caller (they are tailored), in the right order
        if "steps" in show and steps:
            c.add("steps", _numbered(steps))
        if "time_limit" in show and (tl_text := time_line(tl)):
            c.add("time_limit", tl_text)
        if "fee" in show and fee:
            c.add("fee", fee)
        if "places" in show and doc.places:
            c.add("places", _bullets([f"{p.name}：{p.address}" + (f"（{p.hours}）" if p.hours else "")
                                      + (f"，电话{p.phone}" if p.phone else "") for p in doc.places]))
        if "online" in show and doc.online:
            c.add("online", _bullets([o.name + (f"：{o.path}" if o.path else "") + (f"（{o.url}）" if o.url else "")
                                      for o in doc.online]))
        if "phone" in show or not aspects:
            c.add("phone", f"咨询电话：{doc.phone}" + ("" if doc.phone == "12345" else "，也可拨打12345政务服务便民热线"))

    def _faqs(self, c: Composed, doc, faq_sections: list[str]) -> None:
        for sec in faq_sections:
            m = re.fullmatch(r"faq:(\d+)", sec)
            if m and int(m.group(1)) < len(doc.faqs):
                qa = doc.faqs[int(m.group(1))]
                c.add(sec, f"问：{qa.q}\n答：{qa.a}", source=qa.a)

    def scenario(self, s: "Scenario", answers: dict[str, str], aspects: list[str], faq_sections: list[str]) -> Composed:
        c = Composed(title=s.title, doc_id=s.id)
        chosen = [f"{_option_title(s, q, o)}" for q, o in answers.items() if any(x.id == q for x in s.questions)]
        lead = f"「{s.title}」：{s.summary}" if not aspects else f"关于「{s.title}」："
        if chosen:
            lead += f"\n按您的情况（{'；'.join(chosen)}）整理如下。"
        c.add("lead", lead, source=s.summary)
        self._faqs(c, s, faq_sections)
        for q in s.questions:
            if q.id in answers:
                opt = next((o for o in q.options if o.id == answers[q.id]), None)
                if opt and opt.note:
                    c.add(f"situation:{q.id}", opt.note)
        show = set(aspects) if aspects else set(ASPECT_ORDER)
        if "conditions" in show and s.conditions:
            c.add("conditions", _bullets(s.conditions))
        if not aspects:
            members = []
            for m in s.members:
                holds = condition_holds(m.when, answers)
                if holds is False:
                    continue
                matter = self.corpus.get(m.matter)
                name = matter.title if matter else m.matter
                extra = _when_text(s, m.when) if holds is None else ""
                if m.note and holds is None:
                    extra += f"（{m.note}）"
                members.append(name + extra)
            c.add("members", _bullets(members))
        materials = []
        for m in s.materials:
            holds = condition_holds(m.when, answers)
            if holds is False:
                continue
            materials.append(material_line(m, _when_text(s, m.when) if holds is None else ""))
            c.checklist.append(m.name + ("（免提交）" if m.exempt else ""))
        if "materials" in show and materials:
            c.add("materials", _bullets(materials))
        self._common(c, s, [a for a in aspects if a != "conditions"] or ([] if not aspects else ["_none"]),
                     s.steps, s.time_limit, s.fee, [])
        c.spoken, c.summary_facts = self._spoken(s.title, c.checklist, s.time_limit, s.fee, s.online)
        return c

    def matter(self, d: "MatterGuide", aspects: list[str], faq_sections: list[str], sit: "Situation | None") -> Composed:
        c = Composed(title=d.title, doc_id=d.id)
        c.add("lead", f"「{d.title}」由{d.department}办理（{d.matter_type}）。" if not aspects else f"关于「{d.title}」：",
              source=f"{d.title} {d.department} {d.matter_type}")
        self._faqs(c, d, faq_sections)
        show = set(aspects) if aspects else set(ASPECT_ORDER)
        situations = [sit] if sit else d.situations
        multi = len(situations) > 1
        conds, mats = [], []
        for s in situations:
            prefix = f"【{s.title}】" if multi else ""
            conds += [prefix + x for x in s.conditions]
            for m in s.materials:
                mats.append(prefix + material_line(m))
                c.checklist.append(prefix + m.name + ("（免提交）" if m.exempt else ""))
        if sit is not None and len(d.situations) > 1:
            c.add("situation", f"适用情形：{sit.title}")
        if "conditions" in show and conds:
            c.add("conditions", _bullets(conds))
        if "materials" in show and mats:
            c.add("materials", _bullets(mats))
        steps = (sit.steps if sit and sit.steps else d.steps)
        tl = sit.time_limit if sit and sit.time_limit else d.time_limit
        fee = sit.fee if sit and sit.fee else d.fee
        if multi and any(s.fee for s in situations):
            own = [f"{s.title}：{s.fee}" for s in situations if s.fee]
            fee = "；".join(own + ([f"其他情形：{d.fee}"] if any(not s.fee for s in situations) else []))
        self._common(c, d, [a for a in aspects if a != "conditions"] or ([] if not aspects else ["_none"]),
                     steps, tl, fee, [])
        if multi and "materials" in show:
            c.notes.append("不同情形所需材料不同，请告诉我您属于哪种情形：" + "；".join(s.title for s in d.situations))
        c.spoken, c.summary_facts = self._spoken(d.title, c.checklist, tl, fee, d.online)
        return c

    def faq(self, f: "FAQ") -> Composed:
        c = Composed(title=f.question, doc_id=f.id)
        c.add("answer", f"问：{f.question}\n答：{f.answer}", source=f.answer)
        c.spoken = f.answer[:120]
        return c

    def catalog(self, m: "CatalogMatter") -> Composed:
        c = Composed(title=m.title, doc_id=m.id)
        region = self.region_of(m.region)
        body = f"「{m.title}」由{m.region}{m.department}办理"
        if m.matter_type:
            body += f"，事项类型：{m.matter_type}"
        if m.code:
            body += f"，事项编码：{m.code}"
        body += "。目前只收录了该事项的目录信息，详细的材料和流程请查看官方办事指南。"
        c.add("catalog", body)
        if m.link:
            c.add("online", f"官方办事指南：{m.link}")
        elif region and region.online:
            c.add("online", _bullets([o.name + (f"（{o.url}）" if o.url else "") for o in region.online]))
        hotline = region.hotline if region else "12345"
        c.add("phone", f"也可拨打{hotline}政务服务便民热线，或到{m.department}窗口咨询。", cite=False)
        c.spoken = f"这个事项由{m.department}办理，具体材料请以官方办事指南为准，也可以拨打{hotline}咨询。"
        return c

    @staticmethod
    def _spoken(title: str, checklist: list[str], tl: "TimeLimit | None", fee: str | None,
                online) -> tuple[str, str]:
        """(spoken, summary facts): the same facts in one or two sentences, for the hotline, and with the materials,
        which vary with the 情形, last, so the LLM's prompt for a guide starts the same for every user and resumes
        from the prompt cache."""
        needed = []
        for x in checklist:
            name = re.sub(r"^【[^】]*】", "", x)
            if "免提交" not in name and name not in needed:
                needed.append(name)
        materials = ["需要准备" + "、".join(needed[:3]) + ("等材料" if len(needed) > 3 else "")] if needed else []
        rest = []
        if tl:
            rest += tl.parts(promised="一般{}办结", legal=None, on_the_spot="当场办结")
        if fee:
            head = re.split(r"[；;。]", fee)[0]
            rest.append(head.split("（")[0] if head.count("（") > head.count("）") else head)  # no half bracket
        if online:
            rest.append(f"可以在{online[0].name}上办理")
        return "，".join([f"您好，{title}"] + materials + rest) + "。", "，".join([title] + rest + materials) + "。"
