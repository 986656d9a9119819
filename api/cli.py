"""``daoban serve``: start the API and its three pages (after an incremental index build)."""
from __future__ import annotations

from typing import Optional

import typer

# lazy: commands import what they run inside their function: `daoban --help` loads every command group,
# and one command must not pay for another's dependencies (index, agent, torch, chromadb, uvicorn).

top = typer.Typer()


# One BLAS/OpenMP thread per worker process: N workers are the parallelism, and numpy's default of a thread per
# core made each worker spin on every core (load bench, 2 workers on 2 cores: 0.95-1.18x one -> 1.16-1.30x).
WORKER_THREADS_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

def _build_index(settings) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.evidence import warm_sentence_vectors
    from index.build import build_index

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn()) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        report = build_index(settings, progress=progress)
        warm_sentence_vectors(settings, report, progress=progress)
    typer.secho(f"index built: {report.documents} documents, {report.units} units in {report.seconds} s", fg="green")


def _local_keys(settings) -> dict[str, str]:
    """One key per role for a local start, generated once and kept (mode 600) in data_dir."""
    import json
    import os
    import secrets

    path = settings.data_dir / "api_keys.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    keys = {f"{role}-{secrets.token_urlsafe(12)}": role for role in ("hotline", "staff")}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(keys, f, indent=1)
    return keys


@top.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="address to listen on (default: settings api.host, 127.0.0.1)"),
    port: Optional[int] = typer.Option(None, "--port", help="port (default: settings api.port, 8000)"),
    llm: Optional[str] = typer.Option(None, "--llm", help="answer generator: local (GGUF model), none (templates "
                                      "from the guides, fastest) or openai (settings llm.base_url)"),
    workers: int = typer.Option(1, "--workers", min=1, help="worker processes (uvicorn's); with more than one, set "
                                "api.rate_limit_storage to a shared redis:// and, with an LLM, point llm.base_url at "
                                "one LLM server (scripts/topology.sh does both); /metrics sums them all"),
) -> None:
    """Start the assistant's HTTP API with the citizen widget, the 12345 hotline console and the
    content staff console. Configure with DAOBAN_* variables (they win) or a daoban.toml named by DAOBAN_CONFIG."""
    import json
    import os

    import uvicorn

    from daoban.settings import ConfigError, load_settings

    if llm is not None and llm not in ("local", "none", "openai"):
        raise typer.BadParameter("use local, none or openai", param_hint="--llm")
    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.secho(f"cannot start: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    updates = {}
    if llm:
        updates["llm"] = settings.llm.model_copy(update={"backend": llm})
    api = settings.api.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    updates["api"] = api
    settings = settings.model_copy(update=updates)
    # Everything this server writes (database, keys, states) is for its own user only.
    os.umask(0o077)
    from api.db import DataDirError, check_data_dir

    try:
        check_data_dir(settings)
    except DataDirError as exc:
        typer.secho(f"cannot start: {exc}", fg="red", err=True)
        raise typer.Exit(2)

    # Always an incremental build: seconds when nothing changed, and corpus edits made outside the
    # console (or a region missing from the index) are picked up before serving.
    typer.echo("updating the search index (the first start embeds the corpus: a few minutes)…")
    try:
        _build_index(settings)
    except FileNotFoundError as exc:
        typer.secho(f"cannot build the index: {exc}", fg="red", err=True)
        raise typer.Exit(1)

    # Once, before any worker starts: the schema is migrated (workers would queue on the migration lock anyway)
    # and the data key exists (each worker reads the same one).
    from api.crypto import load_key
    from api.db import make_engine

    make_engine(settings).dispose()
    load_key(settings)

    from api.app import create_app

    base = f"http://{'127.0.0.1' if api.host in ('0.0.0.0', '::') else api.host}:{api.port}"
    typer.secho("daoban 一件事智能导办 is starting:", bold=True)
    for label, path in (("citizen widget demo", "/"), ("12345 hotline console", "/hotline"),
                        ("content staff console", "/admin"), ("API docs", "/docs")):
        typer.echo(f"  {label:<22} {base}{path}")
    if not settings.api.api_keys:
        keys = _local_keys(settings)
        settings = settings.model_copy(update={"api": api.model_copy(update={"api_keys": keys})})
        # The keys stay in that file (mode 600): a server log is read by more people than its keys should be.
        typer.echo(f"  console keys (hotline, staff) are in {settings.data_dir / 'api_keys.json'} "
                   "(or set DAOBAN_API__API_KEYS)")
    from api.logs import logging_config

    log_config = logging_config(settings.api.log_format)
    # proxy_headers off: the app believes X-Forwarded-For only from settings' api.trusted_proxies.
    if workers == 1:
        uvicorn.run(create_app(settings), host=api.host, port=api.port, log_config=log_config, proxy_headers=False)
        return
    _warn_per_process(settings, workers)
    for var, value in WORKER_THREADS_ENV.items():
        os.environ.setdefault(var, value)
    # Workers build their app from the environment (which wins over the file): hand them what was decided here.
    os.environ.update({"DAOBAN_LLM__BACKEND": settings.llm.backend, "DAOBAN_API__HOST": api.host,
                       "DAOBAN_API__PORT": str(api.port), "DAOBAN_API__API_KEYS": json.dumps(settings.api.api_keys)})
    from api.metrics import MULTIPROC_ENV, clear_multiprocess_dir

    # prometheus-client's multiprocess mode: every worker writes its values there, /metrics sums them.
    os.environ.setdefault(MULTIPROC_ENV, str(settings.data_dir / "metrics"))
    clear_multiprocess_dir(os.environ[MULTIPROC_ENV])
    uvicorn.run("api.app:app_from_env", factory=True, workers=workers, host=api.host, port=api.port,
                log_config=log_config, proxy_headers=False)


def _warn_per_process(settings, workers: int) -> None:
    """What each worker would hold alone, said before it surprises anyone."""
    if settings.api.rate_limit_storage.startswith("memory"):
        typer.secho(f"  note: rate limits count per worker ({workers} x api.rate_limit_per_minute per client): set "
                    "DAOBAN_API__RATE_LIMIT_STORAGE=redis://host:6379 to share one budget", fg="yellow")
    if settings.llm.backend == "local":
        typer.secho(f"  note: --llm local loads the model in each of the {workers} workers: serve it once "
                    "(python -m llama_cpp.server) and use --llm openai with DAOBAN_LLM__BASE_URL", fg="yellow")
