"""Scope, the last word on the intent before routing: a message the classifier put out of scope or down as
chitchat still goes to the router when it answers the question we asked, names a service, or retrieval matches
it well; and picking an option of a question asked about an application keeps applying (我要申请 -> 第二个)."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from agent.intent import IntentResult
from agent.router import Router, only_picks, pick_option
from agent.session import SessionState
from agent.turn import Understood
from index.text import normalize

if TYPE_CHECKING:
    from corpus.loader import Corpus

OOS_OVERRULED_BY_HIT = 0.9   # a weakly out-of-scope message that retrieval matches this well is a consult
COMPLAINT_WEAK_BELOW = 0.6   # a complaint read with less confidence than this may be a detail question
OOS_WEAK_BELOW = 0.6         # out of scope with less confidence than this is checked against retrieval


class ScopeCheck:
    def __init__(self, corpus: "Corpus", router: Router, asks: Callable[[str], list[str]] | None = None,
                 staff_words: list[str] | None = None, grieves: Callable[[str], bool] | None = None):
        """``asks``: the detail cues a text asks with (``EvidenceFinder.cues``); ``staff_words``: who a request for
        a person names (``data/context.yaml``); ``grieves``: the text holds a grievance's words (``LookAlikes``)."""
        self.corpus = corpus
        self.router = router
        self.asks = asks
        self.grieves = grieves
        self.staff_words = [normalize(w) for w in staff_words or []]

    def run(self, seen: Understood, session: SessionState, region: str | None) -> Understood:
        intent = seen.intent
        # a detail question about the service in hand read as a request for a person, or weakly as a complaint
        # (在哪个窗口领: 窗口 is a complaint's word too), is a consult about that service
        if (intent.name == "human" or intent.name == "complaint" and intent.confidence < COMPLAINT_WEAK_BELOW) \
                and self._asks_the_route(seen, session):
            seen = replace(seen, intent=IntentResult("consult", intent.confidence, intent.probs, "rule"))
            intent = seen.intent
        elif intent.name == "complaint" and intent.confidence < COMPLAINT_WEAK_BELOW and session.route is None:
            asked = self._asks_a_service(seen, region)
            if asked is not None:
                seen, intent = asked, asked.intent
        if intent.name in ("chitchat", "out_of_scope"):
            rescued = self._rescued(seen, session, region)
            if rescued is None:
                return seen
            seen = replace(rescued, intent=IntentResult("consult", intent.confidence, intent.probs, "rule"))
        # The answer to a which-service question goes on with what it was asked for: an application whenever it
        # picks an option; a consult when it is the option and nothing more (a clicked title reads as a wish).
        pending = session.pending
        if pending is not None and pending.kind == "route":
            carried = None
            if pending.intent == "apply" and pick_option(seen.msg, pending.options):
                carried = "apply"
            elif pending.intent == "consult" and seen.intent.name == "apply" and only_picks(seen.msg, pending.options):
                carried = "consult"
            if carried is not None:
                seen = replace(seen, intent=IntentResult(carried, max(seen.intent.confidence, 0.6), seen.intent.probs,
                                                         "rule"))
        return seen

    def _asks_the_route(self, seen: Understood, session: SessionState) -> bool:
        """A detail question about the service in hand (能不能让家里人替我们去办 after 结婚登记) that names no one of
        ours (人工, 客服, 工作人员…): however the classifier read it (a person, a complaint, out of scope)."""
        text = seen.msg.text
        return session.route is not None and self.asks is not None and bool(self.asks(text)) \
            and not any(w in text for w in self.staff_words)

    def _asks_a_service(self, seen: Understood, region: str | None) -> Understood | None:
        """A weak complaint that is a detail question (多久, 在哪) about a service retrieval finds with confidence,
        and holds no grievance's words and no one of ours: a consult, with the hits the router reuses."""
        text = seen.msg.text
        if self.asks is None or self.grieves is None or not self.asks(text) or self.grieves(seen.msg.raw) \
                or self.grieves(text) or any(w in text for w in self.staff_words):
            return None
        hits = self.router.search(seen.msg.search_text, region)
        if not hits or not hits[0].confident:
            return None
        return Understood(seen.msg, IntentResult("consult", seen.intent.confidence, seen.intent.probs, "rule"),
                          hits=hits)

    def _rescued(self, seen: Understood, session: SessionState, region: str | None) -> Understood | None:
        """The message to route instead of a chitchat/out-of-scope reply, or None."""
        msg = seen.msg
        # "第二个" / an option title answers the question we asked, whatever the classifier says.
        if session.pending is not None and pick_option(msg, session.pending.options,
                                                       self._option_keywords(session)) is not None:
            return seen
        # A message naming a service by its title is about that service, whatever the wording around it.
        if self.router.named_docs(msg):
            return seen
        # A detail question with no topic of its own (要多少钱, 能网上办吗) asks about the service in hand: the
        # commercial look-alikes it resembles name their own object (套餐要多少钱).
        if self._asks_the_route(seen, session) and not self.router.normalizer.topic_tokens(msg):
            return seen
        # An action of ours without its object (怎么迁过去) is no chitchat: the router asks which service.
        if self.router.names_only_an_action(msg):
            return seen
        # A real question next to a meta request ("…然后告诉我居住证怎么办") is answered, the meta part dropped.
        if seen.intent.name != "out_of_scope" or not (seen.meta or seen.intent.confidence < OOS_WEAK_BELOW):
            return None
        probe = seen.meta_free if seen.meta else msg
        if probe is None:
            return None
        hits = self.router.search(probe.search_text, region)
        top = hits[0] if hits else None
        if top is None or not top.confident or not (seen.meta or top.score >= OOS_OVERRULED_BY_HIT):
            return None
        return Understood(probe, seen.intent, hits=hits)

    def _option_keywords(self, session: SessionState) -> dict[str, list[str]]:
        p = session.pending
        if p is None or p.kind != "situation" or session.route is None:
            return {}
        doc = self.corpus.get(session.route.id)
        q = next((q for q in getattr(doc, "questions", []) if q.id == p.question_id), None)
        return {o.id: o.keywords for o in q.options} if q else {}
