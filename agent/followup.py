"""Follow-up routing by evidence: a follow-up with words of its own (那户口多久之内要上, after the 出生医学证明) stays on
the current route only when the current guide holds what it asks. Otherwise the guide that does, among the current
route's bundle (a 一件事's member matters; a matter's 一件事 and its other members) and this message's confident hits,
answers it and becomes the route. One BM25 ranking over all their sentences (``EvidenceFinder.holders``) decides,
so the scores compare; nothing here names a scenario or matter."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from agent.router import RouteDecision, RouteReason, Router
from agent.session import SessionState
from index.text import normalize

if TYPE_CHECKING:
    from agent.evidence import EvidenceFinder
    from agent.normalize import Message
    from corpus.loader import Corpus

MARGIN = 0.2    # how far a neighbour's best sentence must stand above the current guide's best
FLOOR = 0.6     # and its least score (the finder's scale: BM25 scaled to the best, plus the cue bonus)
MAX_HITS = 3    # confident hits of the message considered besides the bundle
HIT_WEIGHT = 0.5  # a guide's retrieval score for the message, next to its best sentence: words and meaning both count


class FollowupHolder:
    def __init__(self, corpus: "Corpus", router: Router, evidence: "EvidenceFinder"):
        self.corpus = corpus
        self.router = router
        self.evidence = evidence

    def run(self, msg: "Message", session: SessionState, decision: RouteDecision, intent: str,
            region: str | None) -> RouteDecision:
        """``decision`` with the route moved to the neighbour that holds what the follow-up asks, or as it was."""
        if not decision.followup or decision.reason != RouteReason.FOLLOWUP or intent != "consult" \
                or session.form is not None or decision.route is None:
            return decision
        current = self.corpus.get(decision.route.id)
        if current is None or current.kind not in ("scenario", "matter"):
            return decision
        if self.router.answers_situation(current.id, msg) and not self.evidence.cues(msg.text):
            return decision  # words of a 情形 option, not asking anything: the user's situation on this route
        # Words some title uses: 多久能拿到 or 第一次办要交钱吗 ask about the current guide, whatever else holds them
        topical = [t for t in self.router.normalizer.topic_tokens(msg) if self.router.title_df(t) >= 1]
        if not topical:
            return decision
        bundle, found = self.neighbours(current, decision, region)
        if not bundle and not found:
            return decision
        said = session.user_texts()
        best = self.evidence.holders(current, msg, bundle + found, context=normalize(said[-1]) if said else "")
        own = best.get(None)
        if own is not None and all(t in normalize(f"{own[1].text} {own[1].context}") for t in topical):
            return decision  # the current guide's best sentence speaks of everything asked: it holds the answer
        retrieved = {h.doc_id: h.score for h in decision.hits}
        scores = {g: s + HIT_WEIGHT * retrieved.get(g or current.id, 0.0) for g, (s, _) in best.items()}
        # a guide only retrieval found is a new topic: the message names something of it, in its title
        named = {d.id for d in found if any(self.router.in_title(d.id, t) for t in topical)}
        holder = self._holder(scores, {d.id for d in bundle}, named)
        if holder is None:
            return decision
        hit = next((h for h in decision.hits if h.doc_id == holder), None)
        route = self.router.route_of(holder, hit.score if hit else decision.route.score)
        held = replace(best[holder][1], guide=None)  # read from the guide that is now the route
        return replace(decision, route=route, followup=False, switched=True, reason=RouteReason.FOLLOWUP_HOLDER,
                       held=held)

    @staticmethod
    def _holder(scores: dict[str | None, float], bundle: set[str], found: set[str]) -> str | None:
        """The guide that holds what is asked, when it is not the current one (``None`` in ``scores``). A guide of
        the current route's bundle must stand above the current guide; a guide only retrieval found (a new topic)
        above the whole bundle, the current guide included."""
        def top(ids: set[str]) -> tuple[str | None, float]:
            return max(((g, scores[g]) for g in ids if g in scores), key=lambda x: x[1], default=(None, 0.0))
        own = scores.get(None, 0.0)
        near, near_score = top(bundle)
        far, far_score = top(found - bundle)
        if far is not None and far_score >= FLOOR and far_score - max(own, near_score) >= MARGIN:
            return far
        if near is not None and near_score >= FLOOR and near_score - own >= MARGIN:
            return near
        return None

    def neighbours(self, doc, decision: RouteDecision, region: str | None) -> tuple[list, list]:
        """The current guide's bundle (a 一件事's members; a matter's 一件事 and their members), and the guides of
        this message's first confident hits outside it."""
        members = self.router.members
        near: list[str] = []
        if doc.kind == "scenario":
            near += sorted(members.get(doc.id, ()))
        else:
            for scenario in self.router.bundles.get(doc.id, ()):
                near += [scenario, *sorted(members[scenario])]
        far: list[str] = []
        for h in [h for h in decision.hits if h.confident][:MAX_HITS]:
            guide = self.router.guide_of_faq(h, decision.hits, region) if h.kind == "faq" else h.doc_id
            if guide is not None:
                far.append(guide)
        seen = {doc.id}

        def guides(ids: list[str]) -> list:
            out = []
            for i in ids:
                d = self.corpus.get(i)
                if i not in seen and d is not None and d.kind in ("scenario", "matter"):
                    seen.add(i)
                    out.append(d)
            return out
        return guides(near), guides(far)
