"""``daoban index build|stats|calibrate|serve`` and the top-level ``daoban search``."""
from __future__ import annotations

from typing import Optional

import typer

# lazy: commands import what they run inside their function: `daoban --help` loads every command group,
# and one command must not pay for another's dependencies (index, agent, torch, chromadb, uvicorn).

app = typer.Typer(help="Build and inspect the retrieval index (jieba BM25 + dense vectors in Chroma).",
                  no_args_is_help=True)
top = typer.Typer()


@app.command()
def build(region: Optional[list[str]] = typer.Option(None, "--region", "-r",
                                                     help="region name or folder (repeatable); default: all")) -> None:
    """Build or refresh the index. Unchanged units keep their vectors; the old index serves until the switch."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from daoban.settings import get_settings
    from agent.evidence import warm_sentence_vectors
    from index.build import build_index

    console = Console()
    settings = get_settings()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        try:
            report = build_index(settings, regions=region or None, progress=progress)
            warm_sentence_vectors(settings, report, progress=progress)  # the evidence finder's, kept beside the index
        except FileNotFoundError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2)
    for r in report.regions:
        state = "unchanged" if r.unchanged else f"version {r.version}"
        console.print(f"{r.region}: {r.documents} documents, {r.units} units, {r.embedded} embedded, "
                      f"{r.reused} reused, {r.removed} removed ({state})")
    if report.skipped_files:
        console.print(f"[yellow]{report.skipped_files} corpus file(s) have errors and were left out; "
                      "run `daoban corpus validate` to see them[/yellow]")
    console.print(f"done in {report.seconds:.1f} s; index at {settings.index_dir}"
                  + ("; score calibration refitted" if report.calibrated else ""))


@app.command()
def stats() -> None:
    """Show what the serving index holds, per region."""
    import json

    from rich.console import Console
    from rich.table import Table

    from daoban.settings import get_settings
    from index import store

    settings = get_settings()
    pointer = store.read_pointer(settings.index_dir)
    console = Console()
    if not pointer["regions"]:
        console.print(f"no index under {settings.index_dir}; run `daoban index build`")
        raise typer.Exit(1)
    table = Table("region", "version", "documents", "units", "embeddings", "disk MB")
    for region, e in sorted(pointer["regions"].items()):
        vdir = settings.index_dir / e["dir"]
        size = sum(p.stat().st_size for p in vdir.rglob("*") if p.is_file()) / 1e6
        table.add_row(region, e["version"], str(e["documents"]), str(e["units"]), e["embedding_id"], f"{size:.1f}")
    console.print(table)
    calib = settings.index_dir / "calibration.json"
    if calib.exists():
        from index.calibrate import describe
        console.print("calibration: " + describe(json.loads(calib.read_text(encoding="utf-8"))))
    else:
        console.print("calibration: built-in default (corpus too small to fit)")
    chroma = settings.index_dir / "chroma"
    if chroma.exists() and not settings.index.chroma_url:
        size = sum(p.stat().st_size for p in chroma.rglob("*") if p.is_file()) / 1e6
        console.print(f"chroma (embedded) on disk: {size:.1f} MB")


@app.command()
def calibrate() -> None:
    """Refit the calibrated score on the built index (held-out sample questions vs out-of-domain questions)."""
    from corpus.loader import load_corpus
    from daoban.settings import get_settings
    from index.calibrate import calibrate_index, describe

    settings = get_settings()
    data = calibrate_index(settings, load_corpus(settings.corpus_dir))
    typer.echo(describe(data) if data else "corpus too small: using the built-in default calibration")


@top.command()
def search(query: str = typer.Argument(..., help="the question, in everyday words"),
           k: int = typer.Option(5, "-k", help="how many documents"),
           region: Optional[str] = typer.Option(None, "--region", "-r", help="e.g. 山东省"),
           kind: Optional[list[str]] = typer.Option(None, "--kind", help="scenario | matter | faq | catalog"),
           audience: Optional[str] = typer.Option(None, "--audience", help="个人 | 法人")) -> None:
    """Search the index and print ranked documents with scores and the matched section."""
    from pydantic import ValidationError
    from rich.console import Console

    from daoban.settings import get_settings
    from index.retriever import HybridRetriever
    from index.types import SearchFilters

    console = Console()
    try:
        filters = SearchFilters(region=region, kinds=kind or None, audience=audience)
    except ValidationError as exc:
        console.print(f"[red]error:[/red] bad filter: {exc.errors()[0]['msg']} "
                      "(--kind is scenario|matter|faq|catalog, --audience is 个人|法人)")
        raise typer.Exit(2)
    settings = get_settings()
    retriever = HybridRetriever.from_settings(settings)
    if not retriever.ready:
        console.print(f"[red]error:[/red] no index under {settings.index_dir}; run `daoban index build` first")
        raise typer.Exit(1)
    hits = retriever.search(query, k=k, filters=filters)
    if not hits:
        console.print("no match")
        raise typer.Exit(0)
    thr = settings.index.no_match_threshold
    if not hits[0].confident:
        console.print(f"[yellow]no confident match (best score {hits[0].score:.2f} < threshold {thr:.2f})[/yellow]")
    for i, h in enumerate(hits, 1):
        mark = "" if h.confident else " [dim](below threshold)[/dim]"
        console.print(f"{i}. [bold]{h.title}[/bold]  {h.kind} · {h.region} · [cyan]{h.score:.3f}[/cyan]{mark}  "
                      f"[dim]{h.doc_id}[/dim]")
        if h.sections:
            s = h.sections[0]
            console.print(f"   matched {s.section}: {s.text[:90]}")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="address to listen on"),
          port: int = typer.Option(8002, help="port to listen on"),
          path: Optional[str] = typer.Option(None, help="where the server keeps its data; "
                                                                 "default data_dir/chroma-server")) -> None:
    """Run a Chroma server (`chroma run`) in the foreground, for `DAOBAN_INDEX__CHROMA_URL`; then `daoban index
    build` with that URL set writes the vectors into it."""
    import os
    from pathlib import Path

    from daoban.servers import chroma_command
    from daoban.settings import get_settings

    folder = Path(path) if path else get_settings().data_dir / "chroma-server"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = chroma_command(folder, host, port)
    typer.echo(f"Chroma at http://{host}:{port} keeping its data in {folder}; point daoban at it with\n"
               f"  DAOBAN_INDEX__CHROMA_URL=http://{host}:{port}", err=True)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.execv(cmd[0], cmd)  # the server replaces this process: Ctrl-C and signals reach it directly
