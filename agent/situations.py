"""Situations (情形), the stage after routing: which branch of a guide the user is in.

A scenario's 情形 questions are answered from what the user said (option keywords, titles, numbers) or the
question asked last turn, and asked only when their ``when`` holds and something depends on the answer; never
twice. A matter guide's situations are picked from the words of the user's messages. All of it is data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.actions import action_words
from agent.normalize import Message
from agent.reply import ClarifyOption
from agent.router import pick_option
from agent.session import PendingClarify, SessionState
from corpus.schema import condition_holds
from index.text import normalize

if TYPE_CHECKING:
    from corpus.schema import MatterGuide, Situation, Question, Scenario


@dataclass
class SituationOutcome:
    answers: dict[str, str]
    newly_answered: list[str] = field(default_factory=list)
    question: PendingClarify | None = None     # the one 情形 question to ask now, if any
    keywords: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SituationStep:
    """The Situations stage's outcome for the routed document."""

    question: PendingClarify | None = None     # the 情形 question asked this turn
    matter: "Situation | None" = None          # a matter guide's situation the user is in


class SituationResolver:
    """Ask a scenario's 情形 questions only when they matter, and never twice; pick a matter's situation.

    A question is answered from the message (option keywords, title, number) or a
    pending question; it is asked only when its ``when`` holds and some member,
    material or form field depends on it (or an option carries a note)."""

    def step(self, doc, session: SessionState, texts: list[Message], aspects: list[str],
             intent: str) -> SituationStep:
        """Answer what the user's messages answer (kept on the session), and pick the question to ask: with a
        full answer, a materials question or an application; not after 「那要多久?」."""
        out = SituationStep()
        if doc.kind == "scenario":
            outcome = self.run(doc, session.answers, texts, session.pending)
            session.answers = outcome.answers
            if not aspects or {"materials", "conditions"} & set(aspects) or intent == "apply":
                out.question = outcome.question
        elif doc.kind == "matter":
            out.matter = self.matter_situation(doc, texts)
        session.pending = out.question
        return out

    def relevant(self, scenario: "Scenario", q: "Question") -> bool:
        def uses(when) -> bool:
            return bool(when) and q.id in when
        return (any(uses(m.when) for m in scenario.members) or any(uses(m.when) for m in scenario.materials)
                or any(uses(f.when) for f in scenario.form.fields) or any(o.note for o in q.options)
                or any(uses(other.when) for other in scenario.questions))

    def run(self, scenario: "Scenario", answers: dict[str, str], texts: list[Message],
            pending: PendingClarify | None) -> SituationOutcome:
        answers = dict(answers)
        out = SituationOutcome(answers=answers)
        by_id = {q.id: q for q in scenario.questions}
        last = texts[-1] if texts else None
        # 1. The answer to the question we asked last turn.
        if pending and pending.kind == "situation" and pending.question_id in by_id and last is not None:
            q = by_id[pending.question_id]
            picked = pick_option(last, pending.options, {o.id: o.keywords for o in q.options})
            if picked:
                answers[q.id] = picked
                out.newly_answered.append(q.id)
        # 2. Anything the user already said that answers a question (keywords are data).
        for q in scenario.questions:
            if q.id in answers:
                continue
            for m in reversed(texts):
                picked = _keyword_option(m, q)
                if picked:
                    answers[q.id] = picked
                    out.newly_answered.append(q.id)
                    break
        # 3. The next question worth asking.
        for q in scenario.questions:
            if q.id in answers or condition_holds(q.when, answers) is not True or not self.relevant(scenario, q):
                continue
            out.question = PendingClarify(kind="situation", question=q.text, question_id=q.id,
                                          options=[ClarifyOption(id=o.id, title=o.title) for o in q.options])
            out.keywords = {o.id: o.keywords for o in q.options}
            break
        return out

    @staticmethod
    def matter_situation(doc: "MatterGuide", texts: list[Message]) -> "Situation | None":
        """The one situation of a matter guide the user's words point to; None when they do not tell."""
        if len(doc.situations) == 1:
            return doc.situations[0]
        if not texts or len(doc.situations) < 2:
            return None
        # Words of the matter's own name do not tell its 情形 apart (居住证 in every 居住证 situation).
        own = normalize(" ".join([doc.title, *doc.aliases]))
        tokens = [t for m in texts for t in m.tokens if len(t) >= 2 and t not in own]
        said = " ".join(m.text for m in texts)
        titles = [normalize(s.title) for s in doc.situations]
        # an action some of the titles name, said as people say it (身份证丢了 -> 遗失补领, 卡找到了 -> 解挂); the
        # matter's own action tells its situations apart only when its name has two (挂失与解挂, 换领、补领): 迁过来
        # is what 户口迁移 does in every situation, whichever title happens to say 迁移
        vocabulary = action_words().actions
        owned = [w for w in vocabulary if w in own]
        actions = [w for w, forms in vocabulary.items() if w not in tokens and (w not in own or len(owned) >= 2)
                   and any(w in t for t in titles) and not all(w in t for t in titles) and any(f in said for f in forms)]
        scored = []
        for sit, title in zip(doc.situations, titles):
            overlap = sum(len(t) for t in tokens if t in title) + sum(len(w) for w in actions if w in title)
            scored.append((overlap, sit.id))
        scored.sort(reverse=True)
        if scored[0][0] > 0 and scored[0][0] > scored[1][0]:
            return next(s for s in doc.situations if s.id == scored[0][1])
        return None


def _keyword_option(msg: Message, q: "Question") -> str | None:
    found = [o.id for o in q.options if any(normalize(k) in msg.text for k in o.keywords if k)]
    return found[0] if len(set(found)) == 1 else None
