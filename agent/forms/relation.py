"""The user's relation to the person an application is for, filled into the form's relation fields
(``agent/data/relations.yaml``): 给我儿子报名 answers 与学生关系 (父亲 or 母亲 by the sex in the user's own ID number),
逝者是我父亲 answers 承办人与逝者关系 (子女). Only what the conversation says: no relation word is guessed when the
user named nobody, or said nothing that tells which option it is."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from agent.forms.vocabulary import role_problems
from corpus.datafile import load_data_file

if TYPE_CHECKING:
    from agent.forms.roles import Roles
    from agent.forms.validators import Validator
    from corpus.schema import FormField

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "relations.yaml"


class SpeakerWords(BaseModel):
    """The words for the user, by their sex (男/女 in their ID number) and for either."""

    model_config = ConfigDict(extra="forbid")
    male: list[str] = []
    female: list[str] = []
    any: list[str] = []
    unless_said: list[str] = []  # words that make this relation uncertain (孙子 is a child role, not a son)

    def for_sex(self, sex: str | None) -> list[str]:
        own = {"男": self.male, "女": self.female}.get(sex or "", [])
        return [*own, *self.any]


class RelationWords(BaseModel):
    """agent/data/relations.yaml."""

    model_config = ConfigDict(extra="forbid")
    field_key_suffixes: list[str] = Field(min_length=1)
    label_words: list[str] = Field(min_length=1)
    speaker_roles: list[str] = Field(min_length=1)
    of_subject: dict[str, SpeakerWords] = Field(min_length=1)
    of_identity: dict[str, list[str]] = {}

    def role_names(self) -> list[tuple[tuple, str]]:
        """(field path, role) of every role the file names, to check against corpus/roles.yaml."""
        out = [(("speaker_roles", i), r) for i, r in enumerate(self.speaker_roles)]
        out += [(("of_subject", r), r) for r in self.of_subject]
        return out + [(("of_identity", r), r) for r in self.of_identity]


def load_relation_words(path: Path | str = DATA_PATH, text: str | None = None) -> RelationWords:
    """The file, validated; a role it names that corpus/roles.yaml does not list is an error with its line."""
    path = Path(path)
    return load_data_file(path, RelationWords, text, check=lambda model, info: role_problems(path, info,
                                                                                              model.role_names()))


@functools.cache
def relation_words() -> RelationWords:
    return load_relation_words()


class RelationFields:
    """Which fields ask the user's relation, and the value the conversation gives them."""

    def __init__(self, roles: "Roles", validator: "Validator", words: RelationWords | None = None):
        self.roles = roles
        self.validator = validator
        self.words = words or relation_words()

    def asks_relation(self, f: "FormField") -> bool:
        if f.type not in ("enum", "text"):
            return False
        named = f.key.endswith(tuple(self.words.field_key_suffixes)) or any(w in f.label for w in self.words.label_words)
        return named and self.roles.of_field(f) in self.words.speaker_roles

    def value(self, f: "FormField", subject: str | None, identities: "frozenset[str] | set[str]", sex: str | None,
              texts: list[str]) -> str | None:
        """The option (or, for a text field, the word) the user's relation gives ``f``; None when unsaid.
        ``texts``: the conversation, for the words that make a relation uncertain."""
        said = [w for role in sorted(identities) for w in self.words.of_identity.get(role, [])]
        by_subject = self.words.of_subject.get(subject or "")
        if by_subject and any(w in t for w in by_subject.unless_said for t in texts):
            by_subject = None
        candidates = said + (by_subject.for_sex(sex) if by_subject else [])
        for word in candidates:
            if f.type == "text":
                return word
            checked = self.validator.validate("enum", word, f.options)
            if checked.valid:
                return checked.value
        return None
