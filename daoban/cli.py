"""The one command line: ``daoban corpus|index|search|ask|model|serve|eval``.

Each package contributes its own typer sub-app; heavy imports stay inside commands
so that ``daoban --help`` is instant."""
from __future__ import annotations

import typer

from daoban import model_cli

app = typer.Typer(
    help="daoban 一件事智能导办: corpus, index, assistant, API and eval.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(model_cli.app, name="model")


def _register() -> None:
    # Each package may not exist yet while the project grows; register what is there.
    import importlib

    for module_name, name in (("corpus.cli", "corpus"), ("index.cli", "index"), ("agent.cli", None),
                              ("api.cli", None), ("eval.cli", "eval")):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        sub = getattr(module, "app")
        if name:
            app.add_typer(sub, name=name)
        else:  # top-level commands such as `daoban search`, `daoban serve`
            for command in sub.registered_commands:
                app.registered_commands.append(command)


_register()

if __name__ == "__main__":
    app()
