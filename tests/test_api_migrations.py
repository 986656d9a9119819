"""The schema comes from alembic migrations, on SQLite and on a real PostgreSQL: from empty to the newest
revision, the migrated schema equal to the models, a database made by create_all before migrations adopted with
its data, and several processes migrating at once."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from api import migrate
from api.db import Base, make_engine
from conftest_api import ROOT
from daoban.settings import load_settings


def settings_for(tmp_path: Path, url: str | None):
    settings = load_settings().model_copy(update={"data_dir": tmp_path / "data"})
    return settings.model_copy(update={"api": settings.api.model_copy(update={"database_url": url})})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request, tmp_path):
    url = request.getfixturevalue("postgres").new_database("mig") if request.param == "postgresql" else None
    return settings_for(tmp_path, url)


def differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_upgrade_from_empty_gives_exactly_the_models_schema(db_settings):
    engine = make_engine(db_settings, migrate=False)
    try:
        assert migrate.current(engine) is None and not inspect(engine).get_table_names()
        assert migrate.upgrade(engine) == migrate.head()
        assert {"sessions", "messages", "replies", "feedback", "submissions", "alembic_version"} \
            <= set(inspect(engine).get_table_names())
        assert differences(engine) == []
        assert migrate.upgrade(engine) == migrate.head()  # again: nothing to do
    finally:
        engine.dispose()


OLD_SCHEMA = """
CREATE TABLE sessions (id VARCHAR(64) NOT NULL, channel VARCHAR(16), region VARCHAR(64), state_enc TEXT,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_sessions_updated_at ON sessions (updated_at);
CREATE TABLE form_drafts (id INTEGER PRIMARY KEY, session_id VARCHAR(64), values_enc TEXT);
INSERT INTO sessions VALUES ('s-old', 'web', '山东省', 'gAAAA-encrypted', '2026-11-01 10:00:00', '2026-11-01 10:05:00');
INSERT INTO form_drafts VALUES (1, 's-old', 'gAAAA-encrypted');
"""


def test_a_database_made_before_migrations_is_adopted_with_its_data(tmp_path):
    """An old create_all database: sessions without the later nullable columns, other tables missing, the
    retired form_drafts still there. It is completed, stamped at the baseline and its rows kept."""
    settings = settings_for(tmp_path, None)
    (tmp_path / "data").mkdir()
    old = create_engine(f"sqlite:///{tmp_path / 'data' / 'daoban.sqlite3'}")
    with old.begin() as conn:
        for statement in filter(str.strip, OLD_SCHEMA.split(";")):
            conn.execute(text(statement))
    old.dispose()
    engine = make_engine(settings)
    try:
        assert migrate.current(engine) == migrate.head()  # stamped at the baseline, then upgraded
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, region, state_enc, token_hash FROM sessions")).one()
        assert tuple(row) == ("s-old", "山东省", "gAAAA-encrypted", None)
        assert "form_drafts" not in inspect(engine).get_table_names()
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_the_db_command_upgrades_and_reports(tmp_path):
    env = {"DAOBAN_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "daoban.cli", "db"]
    before = subprocess.run(run + ["current"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert before.returncode == 1 and "no revision" in before.stdout
    up = subprocess.run(run + ["upgrade"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0 and f"at revision {migrate.head()}" in up.stdout, up.stderr
    after = subprocess.run(run + ["current"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert after.returncode == 0, after.stdout


MIGRATE_ONE = """
import sys
from pathlib import Path
from api.db import make_engine
from daoban.settings import load_settings
s = load_settings().model_copy(update={"data_dir": Path(sys.argv[2])})
s = s.model_copy(update={"api": s.api.model_copy(update={"database_url": sys.argv[1] or None})})
make_engine(s).dispose()
"""


def test_workers_starting_at_once_migrate_once(db_settings, tmp_path):
    """Four processes start on an empty database together: all come up, the schema is made once."""
    url = db_settings.api.database_url or ""
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE_ONE, url, str(tmp_path / "data")], cwd=ROOT,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    engine = make_engine(db_settings, migrate=False)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrate.head()]
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_submissions_reviewed_before_0005_get_their_review_status(db_settings):
    """Rows kept at revision 0003 (the review as JSON only) are filterable after 0005: the status read from the
    review, none for a submission made before pre-review."""
    engine = make_engine(db_settings, migrate=False)
    try:
        migrate.upgrade(engine, "0003")
        rows = [("YJS1", '{"status":"pass","items":[],"exempt":[]}'),
                ("YJS2", '{"status":"needs_correction","items":[{"target":"field","key":"subject_name"}]}'),
                ("YJS3", None)]
        with engine.begin() as conn:
            for receipt, review in rows:
                conn.execute(text("INSERT INTO submissions (receipt_no, session_id, form_id, scenario_id, "
                                  "scenario_title, departments, status, values_enc, review, submitted_at) VALUES "
                                  "(:r, 's', 'f', 'g', 't', '[]', '已受理', 'x', :v, CURRENT_TIMESTAMP)"),
                             {"r": receipt, "v": review})
        assert migrate.upgrade(engine) == migrate.head()
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT receipt_no, review_status FROM submissions")).all())
        assert got == {"YJS1": "pass", "YJS2": "needs_correction", "YJS3": None}
        assert differences(engine) == []
    finally:
        engine.dispose()
