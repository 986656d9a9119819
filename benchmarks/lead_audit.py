"""Audit the LLM leads: what the phraser wrote, what it was given, and what the verifier said of it.

    # collect: run consult turns with the local LLM, one JSON line a phrased turn (written as it goes)
    .venv/bin/python benchmarks/lead_audit.py collect --set eval/datasets/dev --kind consult --every 4 --out leads.jsonl
    # replay: judge the collected leads again with the verifier of now (no LLM), keep rate and every rejection
    .venv/bin/python benchmarks/lead_audit.py replay leads.jsonl

Keeps, not latency: the collection gives the model a long budget (a shared machine must not turn slowness into
"unavailable") and no start-up warming; facts are not clipped to a cold-prompt budget (as when warmed)."""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Optional

import typer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

app = typer.Typer(add_completion=False)


def _assistant(timeout_s: float):
    from agent.pipeline import Assistant
    from daoban.settings import get_settings

    settings = get_settings()
    llm = settings.llm.model_copy(update={"backend": "local", "timeout_s": timeout_s, "prewarm": 0,
                                          "cold_prompt_tokens": 0})
    return Assistant.from_settings(settings.model_copy(update={"llm": llm}))


def _record(assistant, turn: dict) -> None:
    """Wrap the phraser and verifier so the turn's facts, question, lead and verdict land in ``turn``."""
    phraser, verifier = assistant.phraser, assistant.verifier
    stream, run = phraser.stream, verifier.run

    def recording_stream(facts: str, question: str, meta: dict | None = None):
        turn["facts"], turn["question"] = phraser._prompt(facts, question)
        yield from stream(facts, question, meta)

    def recording_run(text: str, sources: list[str]):
        verdict = run(text, sources)
        turn.update(lead=text, ok=verdict.ok, unsupported=verdict.unsupported, sources=sources)
        return verdict
    phraser.stream, verifier.run = recording_stream, recording_run


@app.command()
def collect(set_path: Path = typer.Option(ROOT / "eval" / "datasets" / "dev", "--set"),
            kind: str = typer.Option("consult"), every: int = typer.Option(4, min=1),
            start: int = typer.Option(0, help="skip this many sampled cases (resume a collection)"),
            case_ids: Optional[list[str]] = typer.Option(None, "--case", help="only these cases (again after a fix)"),
            timeout_s: float = typer.Option(300.0), out: Path = typer.Option(..., "--out")) -> None:
    from eval.cases import load_cases

    cases = [c for c in load_cases(set_path) if c.expect.kind == kind][::every][start:]
    cases = [c for c in cases if not case_ids or c.id in case_ids]
    assistant = _assistant(timeout_s)
    assistant.llm_warm.wait(timeout=600)
    turn: dict = {}
    _record(assistant, turn)
    with out.open("a", encoding="utf-8") as f:
        for case in cases:
            sid = uuid.uuid4().hex
            for msg in case.messages:
                turn.clear()
                reply = None
                for event in assistant.stream(msg, session_id=sid, channel=case.channel, region=case.region):
                    if event["type"] == "reply":
                        reply = event["reply"]
                if "facts" not in turn:
                    continue  # not phrased: no lead to judge
                turn.update(case=case.id, message=msg, outcome=reply.lead,
                            route=reply.route.title if reply.route else None)
                f.write(json.dumps(turn, ensure_ascii=False) + "\n")
                f.flush()


@app.command()
def replay(leads: Path, show: bool = typer.Option(True)) -> None:
    from agent.verifier import Verifier

    verifier = Verifier()
    rows = [json.loads(line) for line in leads.read_text(encoding="utf-8").splitlines() if line.strip()]
    judged = [r for r in rows if r.get("lead") is not None]
    kept = empty = 0
    for r in judged:
        verdict = verifier.run(r["lead"], r["sources"])
        kept += verdict.ok and bool(r["lead"])
        empty += not r["lead"]  # cut by the token cap before a whole sentence or item: counted as a fallback
        if show and r["lead"] and not verdict.ok:
            print(f"- {r['case']} | {r['message'][:40]}\n  lead: {r['lead']!r}\n  unsupported: {verdict.unsupported}")
    print(f"kept {kept}/{len(judged)} ({kept / max(len(judged), 1):.1%}), of the rest {empty} empty (cut); "
          f"recorded at collection: {sum(bool(r['ok'] and r['lead']) for r in judged)} kept; "
          f"{len(rows) - len(judged)} turns without a lead (LLM unavailable)")


if __name__ == "__main__":
    app()
