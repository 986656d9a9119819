"""Forms, the stage after 情形: on 我要办 (or personal data while a form is open) the scenario's form, prefilled
from everything the user said; and 一表申请 — an application on a FAQ or matter goes through the form of the
一件事 it belongs to."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING

from agent.compose import Composed
from agent.llm import LLMRunner, RunnerChat
from agent.normalize import Message
from agent.forms.filler import FormFiller
from agent.forms.text import missing_prompt
from agent.reply import FormState, Route
from agent.session import SessionState

if TYPE_CHECKING:
    from agent.router import RouteDecision
    from corpus.loader import Corpus
    from corpus.schema import Scenario

log = logging.getLogger("daoban.agent")


class FormStep:
    def __init__(self, corpus: "Corpus", runner: LLMRunner | None, budget_s: float):
        self.corpus = corpus
        # Extraction has its own budget and does not trip the phrasing circuit breaker.
        self.filler = FormFiller(llm=RunnerChat(runner, timeout_s=budget_s, breaker=False) if runner else None)

    def target(self, doc, route: Route, decision: "RouteDecision", intent: str) -> tuple[object, Route]:
        """一表申请: an application on a FAQ or matter goes through the form of the 一件事 it belongs to."""
        if doc is None or doc.kind not in ("faq", "matter") or intent != "apply":
            return doc, route
        if doc.kind == "faq":
            owners = [self.corpus.scenarios[r] for r in doc.related if r in self.corpus.scenarios]
        else:
            owners = [sc for sc in self.corpus.scenarios.values() if any(m.matter == doc.id for m in sc.members)]
        if not owners:
            return doc, route
        rank = {h.doc_id: i for i, h in enumerate(decision.hits)}
        sc = min(owners, key=lambda s: (rank.get(s.id, len(rank)), s.id))
        return sc, Route(kind="scenario", id=sc.id, title=sc.title, region=sc.region, score=route.score)

    def run(self, doc, session: SessionState, texts: list[Message], msg: Message, intent: str,
            stats: Counter) -> FormState | None:
        """Open or update the scenario's form; None when this turn does not touch a form."""
        if doc.kind != "scenario" or not (intent == "apply" or (session.form is not None and msg.has_personal_data)):
            return None
        form = self._fill(doc, session, texts, stats)
        session.form = form or session.form
        return form

    def _fill(self, scenario: "Scenario", session: SessionState, texts: list[Message], stats: Counter) -> FormState | None:
        try:
            return self.filler.fill(scenario.form, [m.raw for m in texts], session.answers, session.form,
                                    scenario.id, dt.date.today())
        except Exception:  # noqa: BLE001 - a prefill bug must not lose the reply
            log.exception("form prefill failed")
            stats["prefill_errors"] += 1
            return session.form

    @staticmethod
    def text(form: FormState, composed: Composed) -> str:
        """What the user reads on 我要办: what was filled, what is still needed, the materials."""
        lines = [f"好的，已为您打开「{composed.title}」的联办申请表。"]
        filled = [f for f in form.fields if f.value]
        if filled:
            lines.append("已根据您提供的信息填写：")
            for f in filled:
                flag = "" if f.valid else f"（{f.error or '格式有误，请核对'}）"
                lines.append(f"- {f.label}：{f.value}{flag}")
        prompt = missing_prompt(form)
        if prompt:
            lines.append(prompt)
        elif not form.missing:
            lines.append("必填信息已齐全，请核对后提交。")
        if composed.checklist:
            lines.append("需准备的材料：" + "、".join(composed.checklist))
        return "\n".join(lines)
