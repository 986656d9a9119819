"""``daoban db upgrade|current``: the database schema (alembic migrations in api/migrations)."""
from __future__ import annotations

import typer

app = typer.Typer(help="The database schema: migrate it, or say where it stands.", no_args_is_help=True)


def _engine():
    from api.db import DataDirError, make_engine
    from daoban.settings import load_settings

    try:
        return make_engine(load_settings(), migrate=False)
    except DataDirError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="the revision to reach (default: the newest)")) -> None:
    """Migrate the configured database (api.database_url, else SQLite under the data folder). Safe to run while
    workers start: they wait on the same lock. A database made before migrations is adopted, its data kept."""
    from api import migrate

    engine = _engine()
    try:
        before = migrate.current(engine)
        after = migrate.upgrade(engine, revision)
    finally:
        engine.dispose()
    typer.echo(f"database ({engine.dialect.name}) at revision {after}"
               + ("" if before == after else f" (was {before or 'unversioned'})"))


@app.command("current")
def current() -> None:
    """The database's revision and the newest one; exits 1 when it needs `daoban db upgrade`."""
    from api import migrate

    engine = _engine()
    try:
        at, head = migrate.current(engine), migrate.head()
    finally:
        engine.dispose()
    typer.echo(f"database ({engine.dialect.name}) at {at or 'no revision'}, newest {head}")
    if at != head:
        raise typer.Exit(1)
