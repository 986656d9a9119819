"""The form filler's word files (agent/data/roles.yaml, options.yaml, form_words.yaml, surnames.yaml) and the role list
(corpus/roles.yaml): each broken file names its file and line; declared field roles on the shipped forms are
exactly what the filler infers from key and label; the corpus validator rejects an unknown role."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from agent.forms.names import Surnames
from agent.forms.roles import Roles
from agent.forms.vocabulary import (DATA_DIR, Vocabulary, default_vocabulary, load_form_words, load_option_words,
                                    load_role_words)
from corpus.datafile import DataFileError, load_data_file
from corpus.loader import load_corpus
from corpus.roles import ROLES_FILE, known_roles, load_role_list
from corpus.schema import FormField
from corpus.validate import errors, validate_corpus
from tests.corpus_factory import SCENARIO, make_corpus, write_doc


def _problems(tmp_path: Path, source: Path, starts: str, new: str, load) -> tuple[str, str]:
    """Replace the line of ``source`` starting with ``starts`` by ``new``, load the copy with ``load`` and
    return (the copy's "file:line:" prefix, the error text)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(starts))
    lines[at] = new
    path = tmp_path / source.name
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load(path)
    return f"{path}:{at + 1}:", str(err.value)


def test_shipped_files_load_and_every_role_is_known():
    vocab = default_vocabulary()
    roles = known_roles()
    assert set(vocab.role_cues.values()) <= roles and set(vocab.roles.field_labels.values()) <= roles
    assert vocab.role_cues["法定代表人"] == "legal_rep" and vocab.role_fit["applicant"][None] == 6
    assert "其他监护人" in vocab.options.synonyms and "税务局".endswith(tuple(vocab.words.government_endings))


ROLE_WORDS = DATA_DIR / "roles.yaml"
SURNAMES = DATA_DIR / "surnames.yaml"


def load_surnames(path: Path):
    return load_data_file(path, Surnames)


@pytest.mark.parametrize("source, starts, new, load, message", [
    (ROLE_WORDS, "baby: child", "  baby: chlid", load_role_words, "field_keys.baby: unknown role 'chlid'"),
    (ROLE_WORDS, "mother: {mother: 10", "  mother: {mom: 10, wife: 9}", load_role_words,
     "role_fit.mother.mom: unknown role 'mom'"),
    (ROLE_WORDS, "spouse: [爱人", "  spouse: [爱人, 配偶, 老伴, 妈妈]", load_role_words,
     "'妈妈' is a cue of both 'mother' and 'spouse'"),
    (ROLE_WORDS, "words: [职工", "  words: [职工, 工友]", load_role_words,
     "service_kinds.words.1: '工友' is not a cue word"),
    (DATA_DIR / "options.yaml", "generic:", "generic: 7", load_option_words, "generic: Input should be a valid list"),
    (DATA_DIR / "form_words.yaml", "correction_cues:", "correction_cues: [不对, '']", load_form_words,
     "correction_cues.1: String should match pattern"),
    (DATA_DIR / "form_words.yaml", "money_cues:", "money_cues: [[资本", load_form_words, "YAML syntax error"),
    (DATA_DIR / "form_words.yaml", "last:", "  last: []", load_form_words,
     "part_cues.last: List should have at least 1 item"),
    (DATA_DIR / "form_words.yaml", "different_people:", "  different_people: [[agent, subjct]]", load_form_words,
     "review.different_people.0.1: unknown role 'subjct'"),
    (DATA_DIR / "form_words.yaml", "role_genders:", "  role_genders: {husband: 男, wife: 妇}", load_form_words,
     "review.role_genders.wife: Input should be '男' or '女'"),
    (ROLES_FILE, "mother:", "  mother: 7", load_role_list, "roles.mother: Input should be a valid string"),
    (ROLES_FILE, "mother:", "  Mother: 母亲", load_role_list, "roles.Mother.[key]: String should match pattern"),
    (SURNAMES, "compound:", "compound: [欧阳, 王]", load_surnames, "a compound surname is two Chinese characters"),
    (SURNAMES, "- 王李张", "  - 王李张A", load_surnames, "single.0: String should match pattern"),
])
def test_a_broken_word_file_names_its_file_and_line(tmp_path, source, starts, new, load, message):
    where, error = _problems(tmp_path, source, starts, new, load)
    assert message in error
    assert error.startswith(where) or (message == "YAML syntax error" and str(tmp_path) in error)


def test_declared_roles_on_the_shipped_forms_are_what_inference_gives():
    """Declaring a role changes nothing: every shipped field declares exactly the role its key or label gives,
    and a field whose key and label name nobody declares none."""
    roles = Roles(default_vocabulary())
    corpus = load_corpus()
    checked = 0
    for scenario in corpus.scenarios.values():
        for f in scenario.form.fields:
            assert f.role == roles.inferred(f.key, f.label), f"{scenario.id}: {f.key} ({f.label})"
            checked += f.role is not None
    assert checked > 250


def test_a_declared_role_wins_over_inference():
    roles = Roles(default_vocabulary())
    field = copy.deepcopy(SCENARIO["form"]["fields"][0])
    plain = FormField.model_validate({**field, "key": "holder_name", "label": "持卡人姓名"})
    declared = plain.model_copy(update={"role": "mother"})
    assert roles.of_field(plain) is None and roles.of_field(declared) == "mother"
    assert roles.all_of_field(declared) == ("mother",)


def test_corpus_validate_rejects_an_unknown_role(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(SCENARIO)
    bad["form"]["fields"][0]["role"] = "landlord"
    write_doc(root / "test" / "scenarios" / "test-event.yaml", bad)
    problem, = [p for p in errors(validate_corpus(root)) if p.code == "unknown-role"]
    assert problem.field == "form.fields.0.role" and "landlord" in problem.message and problem.line > 1


def test_a_surname_listed_twice_is_an_error(tmp_path):
    copy_ = tmp_path / "surnames.yaml"
    copy_.write_text(SURNAMES.read_text(encoding="utf-8").replace("- 王李张", "- 王李张王", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="listed twice: 王"):
        load_surnames(copy_)


def test_vocabulary_is_read_once():
    assert default_vocabulary() is default_vocabulary()
    assert isinstance(default_vocabulary(), Vocabulary)
