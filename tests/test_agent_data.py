"""The vocabulary files under agent/data load through their pydantic models, and a broken one is reported with
its file and line (what a content editor needs to fix it), never as a traceback from deep in the code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.context import ContextWords
from agent.evidence import EvidenceWords
from agent.guard import SafetyData, load_safety_data
from agent.intent import IntentExamples
from agent.normalize import AspectWords, EnglishWords
from agent.privacy import NameWords
from agent.responders import ReplyTexts
from agent.actions import ActionWords
from agent.router import GenericWords
from agent.verifier import VerifierWords
from agent.phraser import PhraserWords
from agent.wording import WordingVocabulary
from corpus.datafile import DataFileError, load_data_file

DATA = Path(__file__).resolve().parent.parent / "agent" / "data"
FILES = [("aspects.yaml", AspectWords), ("english.yaml", EnglishWords), ("generic.yaml", GenericWords),
         ("intents.yaml", IntentExamples), ("replies.yaml", ReplyTexts), ("safety.yaml", SafetyData), ("privacy.yaml", NameWords),
         ("evidence.yaml", EvidenceWords), ("verifier.yaml", VerifierWords), ("wording.yaml", WordingVocabulary),
         ("context.yaml", ContextWords), ("actions.yaml", ActionWords),
         ("phraser.yaml", PhraserWords)]


@pytest.mark.parametrize("name,model", FILES)
def test_shipped_vocabulary_files_validate(name, model):
    loaded = load_data_file(DATA / name, model)
    assert loaded.model_dump()


def _break_line(text: str, pattern: str, replacement: str) -> tuple[str, int]:
    """``text`` with the first line matching ``pattern`` replaced; and that line's number."""
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines) if re.search(pattern, line))
    lines[n] = re.sub(pattern, replacement, lines[n])
    return "\n".join(lines) + "\n", n + 1


@pytest.mark.parametrize("name,model,pattern,replacement", [
    ("generic.yaml", GenericWords, r"^min_title_df: \d+", "min_title_df: many"),
    ("actions.yaml", ActionWords, r"^  注销: \[", "  注销 x: ["),
    ("aspects.yaml", AspectWords, r"^fee: \[.*\]", "fee: {wrong: shape}"),
    ("intents.yaml", IntentExamples, r"^  apply:", "  applyy:"),
    ("replies.yaml", ReplyTexts, r"^  human: 转人工", "  humn: 转人工"),
    ("wording.yaml", WordingVocabulary, r"^  aside: \[", "  asides: ["),
    ("context.yaml", ContextWords, r"^drop_cues: \[.*\]", "drop_cues: {wrong: shape}"),
    ("context.yaml", ContextWords, r"^resume_cues: \[.*\]", "resume_cues: []"),
])
def test_a_broken_file_names_its_file_and_line(tmp_path, name, model, pattern, replacement):
    text, line = _break_line((DATA / name).read_text(encoding="utf-8"), pattern, replacement)
    broken = tmp_path / name
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_data_file(broken, model)
    assert any(p.startswith(f"{broken}:{line}:") for p in err.value.problems), err.value.problems


def test_syntax_errors_and_unknown_safety_classes_are_located(tmp_path):
    bad = tmp_path / "replies.yaml"
    bad.write_text("chips: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{re.escape(str(bad))}:\d+: YAML syntax error"):
        load_data_file(bad, ReplyTexts)
    text, line = _break_line((DATA / "safety.yaml").read_text(encoding="utf-8"), r"all: \[(\w+)", r"all: [nosuchclass")
    broken = tmp_path / "safety.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_safety_data(broken)
    assert any(p.startswith(f"{broken}:{line}:") and "nosuchclass" in p for p in err.value.problems)
