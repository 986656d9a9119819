"""Settings precedence: load_settings' arguments, then DAOBAN_* variables, then the DAOBAN_CONFIG file, then defaults."""
from __future__ import annotations

import os

import pytest

from daoban.settings import ConfigError, LLMSettings, Settings, load_settings

TOML = """
default_region = "北京市"

[llm]
backend = "local"
n_threads = 3

[api]
port = 9100
max_history_turns = 7
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A TOML file named by DAOBAN_CONFIG, and no DAOBAN_* variable of the developer's shell."""
    for name in [n for n in os.environ if n.startswith("DAOBAN_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "daoban.toml"
    path.write_text(TOML, encoding="utf-8")
    monkeypatch.setenv("DAOBAN_CONFIG", str(path))
    return path


def test_the_file_beats_the_defaults(config):
    s = load_settings()
    defaults = Settings.model_fields
    assert defaults["default_region"].default != "北京市" and s.default_region == "北京市"
    assert LLMSettings().n_threads != 3 and s.llm.n_threads == 3
    assert s.api.port == 9100 and s.api.max_history_turns == 7
    assert s.api.host == "127.0.0.1"  # not in the file: the default


def test_the_environment_beats_the_file_top_level_and_nested(config, monkeypatch):
    monkeypatch.setenv("DAOBAN_DEFAULT_REGION", "山东省")
    monkeypatch.setenv("DAOBAN_LLM__BACKEND", "none")
    s = load_settings()
    assert s.default_region == "山东省"
    assert s.llm.backend == "none"  # the file names local; the environment switches it off
    assert s.llm.n_threads == 3  # the rest of the file's [llm] table still holds
    monkeypatch.setenv("DAOBAN_API__PORT", "9200")
    assert load_settings().api.port == 9200 and load_settings().api.max_history_turns == 7


def test_arguments_beat_the_environment_and_the_file(config, monkeypatch):
    monkeypatch.setenv("DAOBAN_LLM__BACKEND", "none")
    monkeypatch.setenv("DAOBAN_DEFAULT_REGION", "山东省")
    s = load_settings(default_region="上海市", llm={"backend": "openai"})
    assert s.default_region == "上海市" and s.llm.backend == "openai" and s.llm.n_threads == 3
    # A whole section given as a model replaces that section, as callers building test settings expect.
    s = load_settings(llm=LLMSettings(backend="openai"))
    assert s.llm.backend == "openai" and s.llm.n_threads == LLMSettings().n_threads


def test_json_values_in_the_environment(config, monkeypatch):
    monkeypatch.setenv("DAOBAN_API__API_KEYS", '{"k1": "hotline", "k2": "staff"}')
    assert load_settings().api.api_keys == {"k1": "hotline", "k2": "staff"}


@pytest.mark.parametrize("text, says", [
    ("[llm\nbackend = 'none'\n", "not valid TOML"),
    ("default_region = \n", "not valid TOML"),
    ("[llm]\nbackedn = 'none'\n", "unknown setting(s) llm.backedn"),
    ("regoin = '北京市'\n", "unknown setting(s) regoin"),
])
def test_a_bad_file_is_a_clear_error_naming_it(config, text, says):
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(config) in str(err.value) and says in str(err.value)


def test_a_missing_file_is_an_error(config, tmp_path, monkeypatch):
    monkeypatch.setenv("DAOBAN_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="nope.toml: no such file"):
        load_settings()


def test_a_bad_value_names_where_values_come_from(config, monkeypatch):
    config.write_text("[llm]\nbackend = 'gpt'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "llm.backend" in str(err.value) and str(config) in str(err.value)
    monkeypatch.setenv("DAOBAN_LLM__BACKEND", "none")  # the environment wins, so the file's bad value is moot
    assert load_settings().llm.backend == "none"


def test_serve_refuses_a_bad_file_in_one_line(config):
    from typer.testing import CliRunner

    from daoban.cli import app

    config.write_text("[api\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "cannot start" in result.output and str(config) in result.output


def test_the_asr_section_follows_the_same_precedence(config, monkeypatch):
    config.write_text(TOML + '\n[asr]\nbase_url = "http://asr.internal:8000/v1"\nmax_seconds = 20\n', encoding="utf-8")
    s = load_settings()
    assert s.asr.base_url == "http://asr.internal:8000/v1" and s.asr.max_seconds == 20
    assert s.asr.language == "zh"  # not in the file: the default
    monkeypatch.setenv("DAOBAN_ASR__MAX_SECONDS", "10")
    assert load_settings().asr.max_seconds == 10 and load_settings().asr.base_url == "http://asr.internal:8000/v1"
    monkeypatch.setenv("DAOBAN_ASR__MAX_SECONDS", "-1")
    with pytest.raises(ConfigError, match="asr.max_seconds"):
        load_settings()
