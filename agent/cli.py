"""``daoban ask "…"`` and ``daoban chat``: the assistant from the command line."""
from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.markdown import Markdown

from daoban.settings import get_settings

top = typer.Typer()

LLM_HELP = "LLM backend for this run: none | local | openai (default: settings, DAOBAN_LLM__BACKEND)"


def _assistant(llm: Optional[str]):
    from agent.pipeline import Assistant  # lazy: loads torch and the models; `daoban --help` must stay instant
    settings = get_settings()
    if llm:
        if llm not in ("none", "local", "openai"):
            raise typer.BadParameter(f"--llm must be none, local or openai, not {llm!r}")
        settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"backend": llm})})
    with Console(stderr=True).status("loading the index and models…"):
        try:
            assistant = Assistant.from_settings(settings)
        except FileNotFoundError as exc:
            typer.secho(f"error: {exc}\nBuild the index first: `daoban index build`", fg="red", err=True)
            raise typer.Exit(2)
    if not assistant.ready:
        typer.secho("warning: the index is not built (run `daoban index build`); answers will be limited",
                    fg="yellow", err=True)
    return assistant


def _print(reply, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(reply.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console = Console()
    head = f"[dim]intent {reply.intent.name} ({reply.intent.confidence:.2f})"
    if reply.route:
        head += f" · {reply.route.kind} {reply.route.title} ({reply.route.score:.2f})"
    head += f" · {reply.latency_ms} ms" + (" · [bold red]handoff[/bold red]" if reply.handoff else "") + "[/dim]"
    console.print(head)
    console.print(Markdown(reply.answer))
    if reply.form:
        filled = [f"{f.label}={f.value}" + ("" if f.valid else "(!)") for f in reply.form.fields if f.value]
        console.print(f"[dim]form {reply.form.form_id}: {', '.join(filled) or '(empty)'}; missing {len(reply.form.missing)}[/dim]")
    if reply.citations:
        console.print("[dim]sources: " + "; ".join(f"{c.title}·{c.section}" for c in reply.citations[:8]) + "[/dim]")
    if reply.suggestions:
        console.print("[dim]try: " + " | ".join(reply.suggestions) + "[/dim]")


@top.command("ask")
def ask(message: str = typer.Argument(..., help="what the citizen says, e.g. 孩子出生了要办哪些手续"),
        session: Optional[str] = typer.Option(None, "--session", "-s", help="session id to continue (in-process only)"),
        channel: str = typer.Option("web", "--channel", "-c", help="web | app | hotline"),
        region: Optional[str] = typer.Option(None, "--region", "-r", help="limit to a region, e.g. 山东省"),
        llm: Optional[str] = typer.Option(None, "--llm", help=LLM_HELP),
        as_json: bool = typer.Option(False, "--json", help="print the Reply as JSON")) -> None:
    """Ask the assistant one question and print its reply."""
    if channel not in ("web", "app", "hotline"):
        raise typer.BadParameter("--channel must be web, app or hotline")
    assistant = _assistant(llm)
    if as_json or assistant.runner is None:
        reply = assistant.handle(message, session_id=session, channel=channel, region=region)  # type: ignore[arg-type]
    else:
        reply = None
        for event in assistant.stream(message, session_id=session, channel=channel, region=region):  # type: ignore[arg-type]
            if event["type"] == "token":
                typer.echo(event["text"], nl=False, err=True)
            elif event["type"] == "reply":  # a draft is the same answer without the lead: print the final one
                reply = event["reply"]
        typer.echo("", err=True)
    _print(reply, as_json)


@top.command("chat")
def chat(channel: str = typer.Option("web", "--channel", "-c", help="web | app | hotline"),
         region: Optional[str] = typer.Option(None, "--region", "-r", help="limit to a region"),
         llm: Optional[str] = typer.Option(None, "--llm", help=LLM_HELP),
         as_json: bool = typer.Option(False, "--json", help="print each Reply as JSON")) -> None:
    """Talk to the assistant in a multi-turn session (empty line or Ctrl-D to quit)."""
    assistant = _assistant(llm)
    session_id = None
    typer.echo("daoban chat: 说说您想办的事（空行退出）")
    while True:
        try:
            message = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not message:
            break
        reply = assistant.handle(message, session_id=session_id, channel=channel, region=region)  # type: ignore[arg-type]
        session_id = reply.session_id
        _print(reply, as_json)
