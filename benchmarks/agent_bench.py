"""Measure the assistant per backend on an eval case set: intent accuracy, routing top-1,
clarification precision, verifier fallback rate, latency per turn (p50/p95) and, with an LLM,
time to first token.

    .venv/bin/python benchmarks/agent_bench.py --set eval/datasets/dev --llm none --llm local [--limit 60]

Uses the index and model of the current settings (build them first: `daoban index build`,
`daoban model ensure`). Prints one table; --json FILE also writes the figures."""
from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Optional

import typer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXPECTED_INTENT = {"consult": {"consult"}, "apply": {"apply"}, "clarify": {"consult", "apply"},
                   "out_of_scope": {"out_of_scope"}, "complaint": {"complaint"}, "human": {"human"},
                   "chitchat": {"chitchat"}, "query_status": {"query_status"}}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    i = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[i]


def _record_verdicts(assistant, checked: list[dict]) -> None:
    """Wrap the assistant's verifier so that each lead it judges, its verdict and the sources land in ``checked``."""
    run = assistant.verifier.run

    def recording(text: str, sources: list[str]):
        verdict = run(text, sources)
        checked.append({"text": text, "ok": verdict.ok, "unsupported": verdict.unsupported, "sources": sources})
        return verdict
    assistant.verifier.run = recording


def run_backend(backend: str, cases, limit: int | None, llm_timeout: float | None, trace: list | None = None) -> dict:
    from agent.pipeline import Assistant
    from daoban.settings import get_settings
    from eval.scoring import titles_match

    settings = get_settings()
    llm = settings.llm.model_copy(update={"backend": backend, **({"timeout_s": llm_timeout} if llm_timeout else {})})
    settings = settings.model_copy(update={"llm": llm})
    t0 = time.perf_counter()
    assistant = Assistant.from_settings(settings)
    load_s = time.perf_counter() - t0
    if assistant.runner is not None:  # let the start-up warm-up (system prompt, prewarmed guides) finish first
        assistant.llm_warm.wait(timeout=900)
        load_s = time.perf_counter() - t0
    if not assistant.ready:
        raise typer.BadParameter(f"assistant not ready for backend {backend!r}: build the index / model first")
    checked: list[dict] = []  # the verifier's calls this turn: lead, verdict and sources, for the trace
    if trace is not None:
        _record_verdicts(assistant, checked)
    turn_ms: list[float] = []
    first_token_ms: list[float] = []
    first_visible_ms: list[float] = []  # the draft (the composed answer) or the first token, whichever comes first
    intent_ok = routed = route_ok = clarify_asked = clarify_right = clarify_needed = clarify_hit = 0
    n = 0
    for case in cases[:limit] if limit else cases:
        sid = uuid.uuid4().hex
        reply = None
        for msg in case.messages:
            before = dict(assistant.runner.stats) if assistant.runner is not None else {}
            checked.clear()
            started = time.perf_counter()
            first = visible = None
            for event in assistant.stream(msg, session_id=sid, channel=case.channel, region=case.region):
                if event["type"] in ("token", "draft") and visible is None:
                    visible = time.perf_counter() - started
                if event["type"] == "token" and first is None:
                    first = time.perf_counter() - started
                elif event["type"] == "reply":
                    reply = event["reply"]
            turn_ms.append((time.perf_counter() - started) * 1000)
            if first is not None:
                first_token_ms.append(first * 1000)
            if visible is not None and first is not None:  # turns the LLM phrased
                first_visible_ms.append(visible * 1000)
            if trace is not None:  # one line a turn: where the time went
                after = dict(assistant.runner.stats) if assistant.runner is not None else {}
                trace.append({"backend": backend, "case": case.id, "message": msg, "turn_ms": round(turn_ms[-1]),
                              "first_token_ms": None if first is None else round(first * 1000),
                              "first_visible_ms": None if visible is None else round(visible * 1000),
                              "llm": {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)},
                              "intent": reply.intent.name, "route": reply.route.title if reply.route else None,
                              "lead": reply.lead, "verdicts": list(checked)})
        n += 1
        kind = case.expect.kind
        intent_ok += reply.intent.name in EXPECTED_INTENT[kind]
        if kind in ("consult", "apply") and case.expect.target:
            routed += 1
            route_ok += bool(reply.route and titles_match(reply.route.title, case.expect.target))
        route_clarify = reply.clarify is not None and reply.clarify.kind == "route"  # not a 情形 question
        if route_clarify:
            clarify_asked += 1
            clarify_right += kind == "clarify"
        if kind == "clarify":
            clarify_needed += 1
            clarify_hit += route_clarify
    stats = assistant.stats
    phrased = stats["llm_answers"] + stats["verifier_fallbacks"]
    return {
        "backend": backend, "cases": n, "turns": len(turn_ms), "load_s": round(load_s, 1),
        "intent_accuracy": round(intent_ok / n, 3) if n else None,
        "routing_top1": round(route_ok / routed, 3) if routed else None,
        "clarify_precision": round(clarify_right / clarify_asked, 3) if clarify_asked else None,
        "clarify_recall": round(clarify_hit / clarify_needed, 3) if clarify_needed else None,
        "verifier_fallback_rate": round(stats["verifier_fallbacks"] / phrased, 3) if phrased else None,
        "llm_timeouts_or_errors": stats["llm_fallbacks"],
        "llm_answers": stats["llm_answers"],
        "turn_p50_ms": round(pct(turn_ms, 0.5)), "turn_p95_ms": round(pct(turn_ms, 0.95)),
        "first_token_p50_ms": round(pct(first_token_ms, 0.5)) if first_token_ms else None,
        "first_token_p95_ms": round(pct(first_token_ms, 0.95)) if first_token_ms else None,
        "first_visible_p50_ms": round(pct(first_visible_ms, 0.5)) if first_visible_ms else None,
        "first_visible_p95_ms": round(pct(first_visible_ms, 0.95)) if first_visible_ms else None,
    }


def main(set_path: Path = typer.Option(ROOT / "eval" / "datasets" / "dev", "--set", help="JSONL file or folder"),
         llm: list[str] = typer.Option(["none"], "--llm", help="backends to measure: none, local, openai"),
         limit: Optional[int] = typer.Option(None, help="only the first N cases (the local LLM is slow)"),
         every: int = typer.Option(1, min=1, help="only every Nth case: a sample across all the set's files"),
         kind: Optional[str] = typer.Option(None, help="only cases of this expected kind (consult, apply, …)"),
         llm_timeout: Optional[float] = typer.Option(None, help="override settings.llm.timeout_s"),
         json_out: Optional[Path] = typer.Option(None, "--json", help="also write the figures here"),
         trace_out: Optional[Path] = typer.Option(None, "--trace", help="write one JSON line a turn (timings, LLM calls)")) -> None:
    from rich.console import Console
    from rich.table import Table

    from eval.cases import load_cases

    cases = [c for c in load_cases(set_path) if kind is None or c.expect.kind == kind][::every]
    if not cases:
        raise typer.BadParameter(f"no cases of kind {kind!r} in {set_path}")
    rows = []
    trace: list | None = [] if trace_out else None
    for backend in llm:
        Console(stderr=True).print(f"[dim]measuring backend {backend} on {limit or len(cases)} cases…[/dim]")
        rows.append(run_backend(backend, cases, limit, llm_timeout, trace))
    if trace_out and trace is not None:
        trace_out.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in trace), encoding="utf-8")
    table = Table(title=f"agent benchmark on {set_path}")
    cols = [k for k in rows[0] if k != "backend"]
    table.add_column("metric")
    for r in rows:
        table.add_column(r["backend"], justify="right")
    for c in cols:
        table.add_row(c, *["-" if r[c] is None else str(r[c]) for r in rows])
    Console().print(table)
    if json_out:
        json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
