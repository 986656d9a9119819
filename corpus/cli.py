"""``daoban corpus ...``: validate, stats and imports for content staff."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

# lazy: commands import what they run inside their function: `daoban --help` loads every command group,
# and one command must not pay for another's dependencies (index, agent, torch, chromadb, uvicorn).

app = typer.Typer(help="The corpus: validate it, count it, import FAQs and catalogues.", no_args_is_help=True)

RootOption = typer.Option(None, "--root", help="corpus data folder (default: the shipped corpus/data)")


def _root(root: Optional[Path]) -> Path:
    from daoban.settings import get_settings

    return root or get_settings().corpus_dir


@app.command()
def validate(
    root: Optional[Path] = RootOption,
    strict: bool = typer.Option(False, "--strict", help="treat warnings (coverage gaps) as errors too"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print errors only, no warnings"),
) -> None:
    """Check every document: schema, duplicate ids/titles/sample questions, dangling references,
    empty materials, time limits, form field roles not in corpus/roles.yaml. Prints each problem as FILE:LINE [code] field: message and exits 1
    when there is an error."""
    from corpus.validate import errors, validate_corpus

    problems = validate_corpus(_root(root))
    shown = problems if not quiet else errors(problems)
    for p in shown:
        typer.secho(str(p), fg="red" if p.severity == "error" else "yellow")
    failing = problems if strict else errors(problems)
    n_warn = sum(p.severity == "warning" for p in problems)
    if failing:
        typer.secho(f"{len(errors(problems))} error(s), {n_warn} warning(s)", fg="red", err=True)
        raise typer.Exit(1)
    typer.secho(f"corpus OK ({n_warn} warning(s))", fg="green")


@app.command()
def stats(root: Optional[Path] = RootOption,
          show_missing: int = typer.Option(20, "--show-missing", help="how many incomplete documents to list")) -> None:
    """Counts by region, kind, audience and lifecycle stage, and the documents with missing fields."""
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    from corpus.loader import load_corpus
    from corpus.validate import missing_fields

    corpus = load_corpus(_root(root))
    console = Console()
    table = Table(title="documents by region")
    for col in ("region", "scenarios", "matters", "faqs", "catalog"):
        table.add_column(col, justify="right" if col != "region" else "left")
    regions = sorted({d.region for d in corpus.documents()})
    for region in regions:
        counts = Counter(d.kind for d in corpus.documents() if d.region == region)
        table.add_row(region, *(str(counts[k]) for k in ("scenario", "matter", "faq", "catalog")))
    console.print(table)

    audience = Table(title="scenarios and matters by audience")
    audience.add_column("audience")
    audience.add_column("scenarios", justify="right")
    audience.add_column("matters", justify="right")
    for who in ("个人", "法人"):
        audience.add_row(who, str(sum(who in s.audience for s in corpus.scenarios.values())),
                         str(sum(who in m.audience for m in corpus.matters.values())))
    console.print(audience)

    stages = Table(title="scenarios by lifecycle stage")
    stages.add_column("stage")
    stages.add_column("scenarios", justify="right")
    for stage, n in Counter(s.stage for s in corpus.scenarios.values()).most_common():
        stages.add_row(stage, str(n))
    console.print(stages)

    gaps = missing_fields(corpus)
    guide_gaps = {k: v for k, v in gaps.items() if k not in corpus.catalog}
    console.print(f"documents with missing fields: {len(guide_gaps)} guides, "
                  f"{len(gaps) - len(guide_gaps)} catalogue entries")
    for doc_id, names in list(guide_gaps.items())[:show_missing]:
        console.print(f"  {doc_id}: {', '.join(names)}")
    if corpus.problems:
        console.print(f"[red]{len(corpus.problems)} load problem(s): run `daoban corpus validate`[/red]")


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"{pair!r}: use FIELD=COLUMN, e.g. question=问题", param_hint="--map")
        key, column = pair.split("=", 1)
        mapping[key.strip()] = column.strip()
    return mapping


@app.command("import-faq")
def import_faq_command(
    file: Path = typer.Argument(..., help="a .csv, .xlsx or .jsonl file with question and answer columns"),
    region: str = typer.Option("山东省", "--region", help="region name the FAQs belong to"),
    map_: list[str] = typer.Option([], "--map", help="FIELD=COLUMN, e.g. --map question=咨询内容 --map answer=答复"),
    department: Optional[str] = typer.Option(None, "--department", help="department for rows that name none"),
    root: Optional[Path] = RootOption,
) -> None:
    """Import question–answer pairs as FAQ documents. All or nothing: a bad file writes nothing."""
    from corpus.importers import ImportFailed, import_faq
    from corpus.loader import load_corpus

    base = _root(root)
    corpus = load_corpus(base)
    folder = next((base / name for name, r in corpus.regions.items() if r.name == region), None)
    if folder is None:
        known = ", ".join(r.name for r in corpus.regions.values()) or "none"
        typer.secho(f"error: unknown region {region!r} (known: {known})", fg="red", err=True)
        raise typer.Exit(2)
    try:
        report = import_faq(file, folder, region, _parse_mapping(map_), department)
    except ImportFailed as exc:
        for line in exc.errors:
            typer.secho(f"error: {line}", fg="red", err=True)
        typer.secho("nothing was imported", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"imported {len(report.written)} FAQ(s) into {folder / 'faqs'}")
    for line in report.skipped:
        typer.secho(f"skipped {line}", fg="yellow")


@app.command("import-catalog")
def import_catalog_command(
    file: Path = typer.Argument(..., help="catalogue CSV: department, main_item, name, itemCode, taskType, link"),
    region: str = typer.Option(..., "--region", help="region name, e.g. 四川省广安市广安区"),
    folder: str = typer.Option(..., "--folder", help="region folder name under the corpus, e.g. guangan"),
    code: Optional[str] = typer.Option(None, "--code", help="region area code"),
    platform: Optional[str] = typer.Option(None, "--platform", help="the region's service platform"),
    source: str = typer.Option(..., "--source", help="where the catalogue comes from (shown as the source)"),
    root: Optional[Path] = RootOption,
) -> None:
    """Import a public matter catalogue as catalogue-only matters of a region."""
    from corpus.importers import ImportFailed, import_catalog
    from corpus.schema import Region, Source

    region_dir = _root(root) / folder
    try:
        report = import_catalog(file, region_dir, Region(name=region, code=code, platform=platform),
                                Source(name=source))
    except ImportFailed as exc:
        for line in exc.errors:
            typer.secho(f"error: {line}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {len(report.written) - 1} catalogue matters and region.yaml under {region_dir}")


@app.command("add-question")
def add_question(doc_id: str = typer.Argument(...), question: str = typer.Argument(...),
                 root: Optional[Path] = RootOption) -> None:
    """Add a sample question (相似问法) to a document, only if the corpus still validates."""
    from corpus.editing import add_sample_question

    problems = add_sample_question(doc_id, question, _root(root))
    for p in problems:
        typer.secho(str(p), fg="red", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"added to {doc_id}; run `daoban index build` to reindex")
