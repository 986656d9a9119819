"""Forms, the stage after 情形: on 我要办 (or personal data while a form is open) the guide's application form,
prefilled from everything the user said. Which form: a 一件事's unified form; a matter's own declared form; a
matter without one that belongs to a 一件事 goes through that 一件事's form (一表申请); any other matter its generic
form (corpus/generic_form.yaml). A catalogue matter has no guide facts: it is applied for on its official page."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING

from agent.compose import Composed
from agent.llm import LLMRunner, RunnerChat
from agent.normalize import Message
from agent.forms.actions import ActionRoute
from agent.forms.filler import FormFiller
from agent.forms.licences import SOURCE_ACCOUNT, SOURCE_LICENCE, apply_licences
from agent.forms.text import masked_value, missing_prompt
from agent.reply import FormState, Route
from agent.session import SessionState
from corpus.generic_form import contact_form

from agent.router import RouteReason

if TYPE_CHECKING:
    from agent.guides import GuideClassifier
    from agent.router import RouteDecision
    from corpus.loader import Corpus
    from corpus.schema import Situation

log = logging.getLogger("daoban.agent")


class FormStep:
    def __init__(self, corpus: "Corpus", runner: LLMRunner | None, budget_s: float,
                 guides: "GuideClassifier | None" = None):
        """``guides``: the router's learned classifier, which tells a matter's 一件事 apart when retrieval found none."""
        self.corpus = corpus
        self.guides = guides
        # Extraction has its own budget and does not trip the phrasing circuit breaker.
        self.filler = FormFiller(llm=RunnerChat(runner, timeout_s=budget_s, breaker=False) if runner else None)
        self.actions = ActionRoute()

    def target(self, doc, route: Route, decision: "RouteDecision", intent: str, text: str = "",
               texts: "list[Message] | None" = None) -> tuple[object, Route]:
        """The guide an application on ``doc`` goes through: the neighbour whose title holds what ``text`` asks
        done when the route's does not (查验, 换: ``ActionRoute``); a matter with its own form keeps it; a FAQ, or a
        matter without a form of its own, goes through the 一件事 it belongs to (一表申请), else a FAQ through the
        matter it answers for; a matter in no 一件事 keeps its generic form. A person (no organisation said in
        ``texts``, the user's messages) never goes through a 一件事 for organisations only."""
        texts = texts or []
        if doc is not None and intent == "apply" and decision.reason in (RouteReason.TOP_HIT, RouteReason.NAMED):
            hit = self.actions.neighbour(doc.title, text, decision.hits)
            if hit is not None and self.corpus.get(hit.doc_id) is not None:
                doc = self.corpus.get(hit.doc_id)
                route = Route(kind=doc.kind, id=doc.id, title=doc.title, region=doc.region, score=hit.score)
        if doc is None or doc.kind not in ("faq", "matter") or intent != "apply":
            return doc, route
        if doc.kind == "matter" and doc.form is not None:
            return doc, route
        if doc.kind == "faq":
            owners = [self.corpus.scenarios[r] for r in doc.related if r in self.corpus.scenarios]
        else:
            owners = [sc for sc in self.corpus.scenarios.values() if any(m.matter == doc.id for m in sc.members)]
            if "个人" in doc.audience and not self._organisation_applies([m.raw for m in texts] or [text]):
                # a person applies: not through a 一件事 for organisations only (宽带报装 for a mother's home)
                owners = [sc for sc in owners if "个人" in sc.audience]
        if not owners and doc.kind == "faq":
            owners = [self.corpus.matters[r] for r in doc.related if r in self.corpus.matters]
        if not owners:
            return doc, route
        rank = {h.doc_id: i for i, h in enumerate(decision.hits)}
        fit: dict[str, float] = {}
        if self.guides is not None and len(owners) > 1 and not any(s.id in rank for s in owners):
            # none found by retrieval: the one the conversation reads most like (出生登记 for a newborn goes through
            # 新生儿出生一件事, not 婚育一件事); a ranked one wins without asking the classifier
            fit = self.guides.scores(" ".join([m.search_text for m in texts] or [text]), [s.id for s in owners])
        guide = min(owners, key=lambda s: (rank.get(s.id, len(rank)), -fit.get(s.id, 0.0), s.id))
        return guide, Route(kind=guide.kind, id=guide.id, title=guide.title, region=guide.region, score=route.score)

    def _organisation_applies(self, texts: list[str]) -> bool:
        """The conversation names a company (青岛海润物流有限公司, a USCC) or says an organisation applies (我们公司).
        Read message by message: the slot extractor's cache holds the earlier ones."""
        words = self.filler.vocab.words.organisation_words
        return any(w in text for text in texts for w in words) or any(
            s.type in ("company", "uscc") for text in texts for s in self.filler.slot_extractor.extract(text))

    def run(self, doc, session: SessionState, texts: list[Message], msg: Message, intent: str,
            stats: Counter, situation: "Situation | None" = None) -> FormState | None:
        """Open or update the guide's form; None when this turn does not touch a form."""
        if doc.kind not in ("scenario", "matter") \
                or not (intent == "apply" or (session.form is not None and msg.has_personal_data)):
            return None
        form = self._fill(doc, session, texts, stats, situation)
        session.form = form or session.form
        return form

    def _fill(self, guide, session: SessionState, texts: list[Message], stats: Counter,
              situation: "Situation | None") -> FormState | None:
        form = guide.application_form
        previous = session.form if session.form is not None and session.form.form_id == form.id else None
        # the matter's 情形 read from the user's words ticks the form's choice that names it
        picked = {f.key: situation.title for f in form.fields if situation and situation.title in f.options}
        try:
            state = self.filler.fill(form, _without_names([m.raw for m in texts], guide), session.answers, previous,
                                     guide.id, dt.date.today(), guide_kind=guide.kind, picked=picked)
            # 免填写: the verified speaker's licences win over what the conversation said (conflicts reported)
            return apply_licences(guide, state, session.identity, previous=previous)
        except Exception:  # noqa: BLE001 - a prefill bug must not lose the reply
            log.exception("form prefill failed")
            stats["prefill_errors"] += 1
            return session.form

    def collected(self, doc, session: SessionState, texts: list[Message]) -> list[str]:
        """What the user already told us for an application made elsewhere (a catalogue matter): label and value,
        masked as the session's form shows no more than the user typed."""
        try:
            state = self.filler.fill(contact_form(doc.id, doc.title), [m.raw for m in texts], session.answers,
                                     None, doc.id, dt.date.today(), guide_kind="matter")
        except Exception:  # noqa: BLE001 - the hand-off still gives the link
            log.exception("prefill for a hand-off failed")
            return []
        return [f"{f.label}：{masked_value(f)}" for f in state.fields if f.value and f.valid and f.type != "enum"]

    def held(self, session: SessionState, texts: list[Message]) -> list[str]:
        """What the user gave before the service is known, label and value masked (姓名：王*)."""
        return self.collected(_Unnamed(), session, texts)

    @staticmethod
    def text(form: FormState, composed: Composed) -> str:
        """What the user reads on 我要办: what was filled, what is still needed, the materials."""
        kind = "联办申请表" if form.guide_kind == "scenario" else "申请表"
        lines = [f"好的，已为您打开「{composed.title}」的{kind}。"]
        filled = [f for f in form.fields if f.value]
        if filled:
            lines.append("已根据您提供的信息填写：")
            for f in filled:
                flag = "" if f.valid else f"（{f.error or '格式有误，请核对'}）"
                if f.source == SOURCE_LICENCE:
                    # the user never said it: their transcript (kept masked by patterns) gets it masked here
                    lines.append(f"- {f.label}：{masked_value(f)}（已由电子证照{f.licence or ''}核验）")
                    continue
                if f.source == SOURCE_ACCOUNT:
                    lines.append(f"- {f.label}：{masked_value(f)}（取自您账户中保存的常用信息，请核对）")
                    continue
                lines.append(f"- {f.label}：{f.value}{flag}")
        for conflict in form.conflicts:
            lines.append(f"注意：{conflict.message}。")
        prompt = missing_prompt(form)
        if prompt:
            lines.append(prompt)
        elif not form.missing:
            lines.append("必填信息已齐全，请核对后提交。")
        if composed.checklist:
            lines.append("需准备的材料：" + "、".join(composed.checklist))
        if form.exempt_materials:
            lines.append("已由电子证照调取，免提交：" + "、".join(form.exempt_materials))
        return "\n".join(lines)


_NAMED = "这个事项"


class _Unnamed:
    """No service yet: the person template's fields only."""

    id = "held"
    title = ""


def _without_names(texts: list[str], guide) -> list[str]:
    """The user's messages with the service's own name read as "这个事项": a role word inside a title (职工 in
    职工退休申请, 新生儿 in 出生登记（新生儿入户）) says nothing about whose the values around it are."""
    names = sorted({n for n in [guide.title, *getattr(guide, "aliases", [])] if len(n) >= 2}, key=len, reverse=True)
    out = []
    for text in texts:
        for name in names:
            text = text.replace(name, _NAMED)
        out.append(text)
    return out
