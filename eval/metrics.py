"""Aggregate case results into the figures a service centre reads."""
from __future__ import annotations

from collections import Counter, defaultdict

from pydantic import BaseModel, Field

from eval.scoring import CaseResult

INTENTS = ["consult", "apply", "query_status", "complaint", "human", "chitchat", "out_of_scope"]


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    # nearest-rank: the smallest value with at least q% of values at or below it
    rank = max(1, -(-len(ordered) * q // 100))
    return float(ordered[int(rank) - 1])


def rank_metrics(ranks: list[int | None], k: int) -> dict:
    """recall@1/@5/@k and MRR from 1-based ranks (None: not in the top k)."""
    n = max(len(ranks), 1)
    return {"queries": len(ranks),
            "recall@1": round(sum(r == 1 for r in ranks) / n, 4),
            "recall@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
            f"recall@{k}": round(sum(r is not None for r in ranks) / n, 4),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 4)}


class Summary(BaseModel):
    cases: int
    resolved: int
    resolution_rate: float | None
    # Resolved with the expected title itself, not the other half of its 一件事/member or FAQ/guide pair.
    strict_resolution_rate: float | None = None
    # 精准回答: of the consults with required facts routed right, the share whose reply states them in its first line.
    precise_answer_rate: float | None = None
    by_kind: dict[str, dict] = Field(default_factory=dict)
    by_target: dict[str, dict] = Field(default_factory=dict)
    by_channel: dict[str, dict] = Field(default_factory=dict)
    intent_accuracy: float | None = None
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict, description="expected -> got -> count")
    routing_top1: float | None = None
    retrieval_recall_at_1: float | None = None
    retrieval_recall_at_5: float | None = None
    retrieval_mrr: float | None = None
    clarify_precision: float | None = None
    clarify_recall: float | None = None
    slot_precision: float | None = None
    slot_recall: float | None = None
    slots_unplaced: int = 0
    # Required fields filled from the conversation, over the required fields of the forms opened.
    prefill_rate: float | None = None
    # The same with the speaker signed in and their household's electronic licences applied (免填写), over the
    # cases where that was measured (--licences household); the conversation-only figure above is unchanged.
    prefill_rate_with_licences: float | None = None
    licence_conflicts: int | None = None
    licence_missing: dict[str, int] = Field(default_factory=dict, description="after the sign-in, the required "
                                            "fields most often still empty (key -> applications), most first")
    verifier_fallback_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    failures: list[dict] = Field(default_factory=list)


def _group(results: list[CaseResult], key) -> dict[str, dict]:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        k = key(r)
        if k:
            groups[k].append(r)
    return {k: {"cases": len(v), "resolved": sum(r.resolved for r in v),
                "rate": _rate(sum(r.resolved for r in v), len(v))} for k, v in sorted(groups.items())}


def summarize(results: list[CaseResult]) -> Summary:
    with_intent = [r for r in results if r.intent_expected]
    confusion: dict[str, Counter] = defaultdict(Counter)
    for r in with_intent:
        confusion[r.intent_expected][r.intent_got] += 1
    routed = [r for r in results if r.route_ok is not None]
    ranked = [r for r in results if r.target and r.kind in ("consult", "apply") and r.single_turn]
    asked = [r for r in results if r.clarified]
    wanted = [r for r in results if r.clarify_expected]
    tp = sum(r.slots.true_positive for r in results)
    fp = sum(r.slots.false_positive for r in results)
    fn = sum(r.slots.false_negative for r in results)
    llm_answers = [r for r in results if r.verifier_fallback is not None]
    latencies = [r.latency_ms for r in results]
    signed_in = [r for r in results if r.licence_required_fields is not None]
    detailed = [r for r in results if r.fact_first is not None]
    return Summary(
        cases=len(results),
        resolved=sum(r.resolved for r in results),
        resolution_rate=_rate(sum(r.resolved for r in results), len(results)),
        strict_resolution_rate=_rate(sum(r.resolved and r.route_exact is not False for r in results), len(results)),
        precise_answer_rate=_rate(sum(bool(r.fact_first) for r in detailed), len(detailed)),
        by_kind=_group(results, lambda r: r.kind),
        by_target=_group(results, lambda r: r.target),
        by_channel=_group(results, lambda r: r.channel),
        intent_accuracy=_rate(sum(r.intent_got == r.intent_expected for r in with_intent), len(with_intent)),
        confusion={k: dict(v) for k, v in confusion.items()},
        routing_top1=_rate(sum(bool(r.route_ok) for r in routed), len(routed)),
        retrieval_recall_at_1=_rate(sum(r.target_rank == 1 for r in ranked), len(ranked)),
        retrieval_recall_at_5=_rate(sum(r.target_rank is not None and r.target_rank <= 5 for r in ranked), len(ranked)),
        retrieval_mrr=round(sum(1 / r.target_rank for r in ranked if r.target_rank) / len(ranked), 4) if ranked else None,
        clarify_precision=_rate(sum(r.clarify_expected for r in asked), len(asked)),
        clarify_recall=_rate(sum(r.clarified for r in wanted), len(wanted)),
        slot_precision=_rate(tp, tp + fp),
        slot_recall=_rate(tp, tp + fn),
        slots_unplaced=sum(r.slots.unplaced for r in results),
        prefill_rate=_rate(sum(r.prefilled_fields for r in results), sum(r.required_fields for r in results)),
        prefill_rate_with_licences=_rate(sum(r.licence_prefilled_fields or 0 for r in signed_in),
                                         sum(r.licence_required_fields or 0 for r in signed_in)),
        licence_conflicts=sum(len(r.licence_conflicts) for r in signed_in) if signed_in else None,
        licence_missing=dict(Counter(k for r in signed_in for k in r.licence_missing).most_common(15)),
        verifier_fallback_rate=_rate(sum(bool(r.verifier_fallback) for r in llm_answers), len(llm_answers)),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        failures=[{"id": r.id, "kind": r.kind, "target": r.target, "reasons": r.reasons,
                   "answer": r.answer[:300]} for r in results if not r.resolved],
    )


HEADLINE = ["resolution_rate", "strict_resolution_rate", "precise_answer_rate", "intent_accuracy", "routing_top1", "retrieval_recall_at_1", "retrieval_recall_at_5",
            "retrieval_mrr", "clarify_precision", "clarify_recall", "slot_precision", "slot_recall",
            "prefill_rate", "prefill_rate_with_licences", "verifier_fallback_rate", "latency_p50_ms", "latency_p95_ms"]


def compare(old: dict, new: dict) -> list[dict]:
    """Headline figures side by side, plus cases that flipped."""
    rows = []
    for name in HEADLINE:
        a, b = old.get(name), new.get(name)
        rows.append({"metric": name, "old": a, "new": b,
                     "change": round(b - a, 4) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None})
    old_failed = {f["id"] for f in old.get("failures", [])}
    new_failed = {f["id"] for f in new.get("failures", [])}
    rows.append({"metric": "newly_failing", "old": None, "new": sorted(new_failed - old_failed), "change": None})
    rows.append({"metric": "newly_resolved", "old": None, "new": sorted(old_failed - new_failed), "change": None})
    return rows
