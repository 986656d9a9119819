"""The one command line: ``daoban corpus|index|search|ask|model|serve|db|eval``.

Each package contributes its commands from its own ``cli.py``: ``app`` becomes a
command group (``daoban corpus validate``) and ``top`` holds top-level commands
(``daoban search``, ``daoban serve``). Heavy imports stay inside the commands so
that ``daoban --help`` is instant."""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="daoban 一件事智能导办: corpus, index, assistant, API and eval.",
    no_args_is_help=True,
    add_completion=False,
)

GROUPS = {"daoban.model_cli": "model", "corpus.cli": "corpus", "corpus.catalog_cli": "catalog", "index.cli": "index", "agent.cli": "agent",
          "api.cli": "api", "api.db_cli": "db", "eval.cli": "eval"}


def _register() -> None:
    for module_name, group in GROUPS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # that package has no CLI yet
                continue
            raise
        if hasattr(module, "app"):
            app.add_typer(module.app, name=group)
        if hasattr(module, "top"):
            app.registered_commands.extend(module.top.registered_commands)


_register()

if __name__ == "__main__":
    app()
