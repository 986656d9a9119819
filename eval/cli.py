"""``daoban eval ...``: resolution rate and its parts, and answer retrieval on QA datasets."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer

# lazy: commands import what they run inside their function: `daoban --help` loads every command group,
# and one command must not pay for another's dependencies (index, agent, torch, chromadb, uvicorn).

app = typer.Typer(help="Measure the assistant: resolution rate, intent, routing, retrieval, slots, latency.",
                  no_args_is_help=True)

DEFAULT_REPORTS = Path("eval/reports")


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def _load_or_fail(loader, set_: Path):
    """The cases of ``set_``, or every bad line in red and exit 1."""
    from eval.cases import CaseFileError

    try:
        return loader(set_)
    except CaseFileError as exc:
        for line in exc.errors:
            typer.secho(line, fg="red", err=True)
        _fail(f"{len(exc.errors)} bad line(s) in {set_}; fix them and run again", 1)


@app.command("run")
def run(
    set_: Path = typer.Option(..., "--set", help="a JSONL case file or a folder of them (e.g. eval/datasets/dev)"),
    llm: Optional[str] = typer.Option(None, "--llm", help="local | none | openai (default: configuration)"),
    report: Optional[Path] = typer.Option(None, "--report", help="folder for summary.json, cases.jsonl, report.html"),
    compare: Optional[Path] = typer.Option(None, "--compare", help="a previous summary.json to compare with"),
    min_resolution: Optional[float] = typer.Option(None, "--min-resolution",
                                                   help="exit 1 when the resolution rate is below this (CI gate)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="only the first N cases (quick look)"),
    every: Optional[int] = typer.Option(None, "--every", help="every K-th case: a spread-out subset (slow LLM runs)"),
    show_failures: int = typer.Option(15, "--show-failures", help="how many failed cases to print"),
    licences: str = typer.Option("none", "--licences",
                                 help="none | household: after each application's conversation, sign its speaker "
                                      "in on a synthetic city platform holding their household's electronic "
                                      "licences and measure the prefill with them too (eval/licences.py)"),
) -> None:
    """Play every case through the same assistant the API uses and score the reply to its last turn."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from eval.cases import load_cases
    from eval.harness import build_assistant
    from eval.metrics import HEADLINE, compare as compare_runs
    from eval.report import LABELS, write_report
    from eval.runner import run_cases
    from eval.scoring import Bundles

    if llm not in (None, "local", "none", "openai"):
        _fail(f"--llm must be local, none or openai (got {llm!r})")
    if licences not in ("none", "household"):
        _fail(f"--licences must be none or household (got {licences!r})")
    cases = _load_or_fail(load_cases, set_)
    previous = None
    if compare:
        try:
            previous = json.loads(compare.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            _fail(f"cannot read --compare {compare}: {exc}")
    if every:
        cases = cases[::every]
    if limit:
        cases = cases[:limit]
    assistant, search, backend = build_assistant(llm)
    console = Console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(f"eval {set_.name} (llm={backend})", total=len(cases))
        resolved = 0

        def step(result) -> None:
            nonlocal resolved
            resolved += result.resolved
            bar.update(task, advance=1, description=f"eval {set_.name} (llm={backend}) resolved {resolved}")

        sign_in = None
        if licences == "household":
            from eval.licences import sign_in_and_refill
            sign_in = sign_in_and_refill
        results, summary = run_cases(assistant, cases, search, progress=step,
                                     bundles=Bundles.from_corpus(assistant.corpus), sign_in=sign_in)

    table = Table(title=f"{set_} · llm={backend} · {summary.cases} cases")
    table.add_column("metric")
    table.add_column("value", justify="right")
    data = summary.model_dump()
    for name in HEADLINE:
        v = data[name]
        table.add_row(LABELS.get(name, name), "–" if v is None else (f"{v:.1%}" if name not in ("latency_p50_ms", "latency_p95_ms") else f"{v:.0f}"))
    console.print(table)
    kinds = Table(title="by kind")
    for col in ("kind", "cases", "resolved", "rate"):
        kinds.add_column(col)
    for kind, row in summary.by_kind.items():
        kinds.add_row(kind, str(row["cases"]), str(row["resolved"]), f"{row['rate']:.1%}")
    console.print(kinds)
    for failure in summary.failures[:show_failures]:
        console.print(f"[red]✗ {failure['id']}[/red] ({failure['kind']}, {failure['target'] or '-'}): "
                      + "; ".join(failure["reasons"]))
    if len(summary.failures) > show_failures:
        console.print(f"… and {len(summary.failures) - show_failures} more failed case(s) in the report")
    if previous is not None:
        for row in compare_runs(previous, data):
            if row["change"]:
                console.print(f"{LABELS.get(row['metric'], row['metric'])}: {row['old']} → {row['new']} ({row['change']:+.4g})")
    if summary.licence_conflicts is not None:
        console.print(f"licences contradicted {summary.licence_conflicts} conversation value(s) (reported, the "
                      "certified value filled)")
    meta = {"set": str(set_), "llm": backend, "finished": dt.datetime.now().isoformat(timespec="seconds"),
            "cases": len(cases), "licences": licences}
    out = report or DEFAULT_REPORTS / f"{set_.stem}-{backend}"
    paths = write_report(out, summary, results, meta, previous)
    console.print(f"report: {paths['html']}  json: {paths['json']}")
    if min_resolution is not None and (summary.resolution_rate or 0) < min_resolution:
        typer.secho(f"resolution rate {summary.resolution_rate:.1%} is below the gate {min_resolution:.1%}",
                    fg="red", err=True)
        raise typer.Exit(1)


@app.command("safety")
def safety(
    set_: Path = typer.Option(..., "--set", help="a JSONL file of {id, message, expect: refuse|answer, category}"),
    llm: str = typer.Option("none", "--llm", help="local | none | openai"),
    show_failures: int = typer.Option(200, "--show-failures", help="how many failed cases to print"),
    quiet: bool = typer.Option(False, "--quiet", help="numbers only: do not print the failed messages"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the summary (with failures) here"),
) -> None:
    """Refusal recall on abuse requests and false refusals on their legitimate look-alikes, per category,
    judged on the replies of the real assistant."""
    from eval.harness import build_assistant
    from eval.safety import load_safety_cases, run_safety, summarize

    if llm not in ("local", "none", "openai"):
        _fail(f"--llm must be local, none or openai (got {llm!r})")
    cases = _load_or_fail(load_safety_cases, set_)
    assistant, _, backend = build_assistant(llm)
    summary = summarize(run_safety(assistant, cases))

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v:.1%}"

    typer.echo(f"{set_} · llm={backend} · {summary['cases']} cases")
    refused_refuse = round((summary["refusal_recall"] or 0) * summary["refuse_cases"])
    refused_answer = round((summary["false_refusal_rate"] or 0) * summary["answer_cases"])
    typer.echo(f"refusal recall      {pct(summary['refusal_recall'])} ({refused_refuse}/{summary['refuse_cases']})")
    typer.echo(f"false-refusal rate  {pct(summary['false_refusal_rate'])} ({refused_answer}/{summary['answer_cases']})")
    typer.echo(f"forms opened on refuse cases: {summary['forms_opened_on_refuse']}")
    for cat, row in summary["by_category"].items():
        what = "refused" if row["expect"] == "refuse" else "falsely refused"
        typer.echo(f"  {cat:<16} {row['expect']:<6} {row['refused']:>3}/{row['cases']:<3} {what}")
    if not quiet:
        for f in summary["failures"][:show_failures]:
            typer.secho(f"✗ {f['id']} [{f['category']}] expect {f['expect']}"
                        + (", form opened" if f["form"] else "") + f": {f['message']}  →  {f['answer']}", fg="red")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


@app.command("retrieval")
def retrieval(
    faq: Optional[Path] = typer.Option(None, "--faq", help="QA dataset (.csv/.xlsx/.jsonl with question and answer columns)"),
    heldout: bool = typer.Option(False, "--heldout", help="the corpus's own sample and FAQ questions, held out of "
                                                          "the index they are searched in (eval/heldout.py)"),
    folds: int = typer.Option(2, "--folds", help="--heldout: how many held-out builds (each holds out one fold)"),
    work_dir: Optional[Path] = typer.Option(None, "--work-dir", help="--heldout: scratch data dir for its index "
                                                                     "(default <data_dir>/index-heldout)"),
    table: Optional[Path] = typer.Option(None, "--table", help="--heldout: also write the QA table here (CSV)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="--heldout: write figures and per-query ranks here"),
    limit: int = typer.Option(0, "--limit", help="--heldout: at most N questions (quick look)"),
    fold: Optional[int] = typer.Option(None, "--fold", help="--heldout: only this fold (1..N): one build, not N"),
    map_: list[str] = typer.Option([], "--map", help="FIELD=COLUMN, e.g. --map question=问题 --map answer=答案"),
    k: int = typer.Option(10, "-k", help="how deep to look for the right answer"),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid | sparse (BM25 only) | dense | all"),
) -> None:
    """Answer retrieval on a QA dataset (--faq: the answers are indexed as documents, the questions are the
    queries) or on the corpus's held-out questions (--heldout); prints recall@1/@5/@k and MRR."""
    from eval.harness import QADatasetError, evaluate_qa_retrieval

    modes = ["hybrid", "dense", "sparse"] if mode == "all" else [mode]
    if any(m not in ("hybrid", "dense", "sparse") for m in modes):
        _fail(f"--mode must be hybrid, sparse, dense or all (got {mode!r})")
    if heldout == (faq is not None):
        _fail("give either --faq FILE or --heldout")
    if heldout:
        from daoban.settings import get_settings
        from eval.heldout import evaluate_heldout, qa_table, write_table

        settings = get_settings()
        if table:
            from corpus.loader import load_corpus
            write_table(qa_table(load_corpus(settings.corpus_dir)), table, folds)
        result = evaluate_heldout(settings, work_dir or Path(settings.data_dir) / "index-heldout", folds=folds,
                                  modes=modes, k=k, limit=limit, only_fold=fold,
                                  progress=typer.echo)
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        typer.echo(f"{result['queries']} held-out questions of {result['documents']} documents, {folds} folds, "
                   f"builds {result['build_seconds']} s")
        typer.echo(f"| mode | recall@1 | recall@5 | recall@{k} | MRR | p50 ms |")
        typer.echo("|---|---|---|---|---|---|")
        for m, r in result["modes"].items():
            typer.echo(f"| {m} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r[f'recall@{k}']:.3f} | "
                       f"{r['mrr']:.3f} | {r['p50_ms']} |")
        for source, per_mode in result["by_source"].items():
            n = next(iter(per_mode.values()))["queries"]
            typer.echo(f"{source} ({n} questions): " + "; ".join(f"{m} R@1 {r['recall@1']:.3f} MRR {r['mrr']:.3f}"
                                                                for m, r in per_mode.items()))
        return
    mapping = {}
    for pair in map_:
        if "=" not in pair:
            _fail(f"--map {pair!r}: use FIELD=COLUMN")
        key, column = pair.split("=", 1)
        mapping[key.strip()] = column.strip()
    for m in modes:
        try:
            result = evaluate_qa_retrieval(faq, mapping, k=k, mode=m)
        except QADatasetError as exc:
            _fail(str(exc), 1)
        for name, value in result.items():
            typer.echo(f"{name:>12}: {value}")
