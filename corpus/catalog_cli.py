"""``daoban catalog ...``: plain words and 相似问法 for the catalogue-only matters (corpus/enrich.py)."""
from __future__ import annotations

from typing import Optional

import typer

app = typer.Typer(help="Catalogue-only matters: generate and count their plain words and 相似问法.",
                  no_args_is_help=True)


def _region_docs(region: str):
    from pathlib import Path

    from corpus.loader import load_corpus
    from daoban.settings import get_settings

    corpus = load_corpus(get_settings().corpus_dir, [region])
    docs = list(corpus.catalog.values())
    if not docs:
        raise typer.BadParameter(f"no catalogue matters in region {region!r}")
    region_dir = Path(corpus.sources[docs[0].id].file).parent.parent
    return corpus, docs, region_dir


@app.command()
def enrich(
    region: str = typer.Option("guangan", "--region", "-r", help="region folder or name"),
    limit: Optional[int] = typer.Option(None, "--limit", help="at most this many matters this run"),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="stop starting new matters after this long"),
    threads: int = typer.Option(1, "--threads", help="llama.cpp threads (the machine is shared: 1 by default)"),
) -> None:
    """Generate plain keywords and 相似问法 with the local LLM into <region>/catalog_enrich.yaml, as
    `unreviewed` entries. Resumes where the last run stopped; Ctrl-C keeps everything generated so far."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    from corpus.enrich import DEPARTMENTS, load_departments
    from corpus.generate import Generator, run
    from daoban.model_files import ensure_model
    from daoban.settings import get_settings

    console = Console()
    corpus, docs, region_dir = _region_docs(region)
    depts = load_departments(region_dir / DEPARTMENTS).by_name() if (region_dir / DEPARTMENTS).exists() else {}
    path = ensure_model(get_settings())
    gen = Generator(path, n_threads=threads)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), TextColumn("{task.fields[title]}"), console=console) as bar:
        task = bar.add_task("相似问法", total=None, title="")

        def progress(done: int, total: int, title: str) -> None:
            bar.update(task, completed=done, total=total, title=title[:24])

        report = run(docs, region_dir, gen, lambda d: depts[d].full_name or d if d in depts else d, gen.model_name,
                     limit=limit, minutes=minutes, progress=progress)
    spm = report.seconds_per_matter
    console.print(f"generated {report.generated}, failed {report.failed}, already cached {report.skipped}; "
                  f"{spm:.1f} s a matter; {report.remaining} left (about {report.remaining * spm / 60:.0f} min "
                  f"at this speed)")


@app.command()
def status(region: str = typer.Option("guangan", "--region", "-r")) -> None:
    """How many catalogue matters have generated words, by review status."""
    from collections import Counter

    from corpus.enrich import CACHE, load_cache

    corpus, docs, region_dir = _region_docs(region)
    cache = load_cache(region_dir / CACHE)
    by = Counter(e.status for e in cache.entries)
    secs = [e.seconds for e in cache.entries if e.seconds]
    typer.echo(f"{len(cache.entries)} of {len(docs)} matters generated: " +
               ", ".join(f"{k} {v}" for k, v in sorted(by.items())) +
               (f"; {sum(secs) / len(secs):.1f} s a matter" if secs else ""))
