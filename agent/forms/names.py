"""People's names: a surname from ``agent/data/surnames.yaml`` and one to three more characters."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus.datafile import load_data_file

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "surnames.yaml"
_HAN = re.compile(r"[\u4e00-\u9fa5]+")


class Surnames(BaseModel):
    """agent/data/surnames.yaml."""

    model_config = ConfigDict(extra="forbid")
    single: list[Annotated[str, Field(pattern=r"^[\u4e00-\u9fa5]+$")]] = Field(min_length=1)  # lines of characters
    compound: list[str]
    not_in_name: str = Field(min_length=1)
    word_like: str = ""
    time_chars: str = ""

    @field_validator("single")
    @classmethod
    def _single_chars(cls, lines: list[str]) -> list[str]:
        chars = "".join(lines)
        repeated = sorted({c for c in chars if chars.count(c) > 1})
        if repeated:
            raise ValueError(f"listed twice: {''.join(repeated)}")
        return lines

    @field_validator("compound")
    @classmethod
    def _two_chars(cls, words: list[str]) -> list[str]:
        bad = [w for w in words if len(w) != 2 or not _HAN.fullmatch(w)]
        if bad:
            raise ValueError(f"a compound surname is two Chinese characters: {bad}")
        return words


@functools.cache
def surname_data() -> Surnames:
    return load_data_file(DATA_PATH, Surnames)


@functools.cache
def surnames() -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    data = surname_data()
    return frozenset("".join(data.single)), tuple(data.compound), frozenset(data.not_in_name)


def looks_like_name(name: str, role_words: dict[str, str] | frozenset[str], alone: bool = False) -> bool:
    """Two to four Chinese characters starting with a surname, and not a role word (妈妈, 孩子). ``alone``: the
    name is its clause, right before its number, where a surname that is also an everyday word (习) counts."""
    if not 2 <= len(name) <= 4 or not re.fullmatch(r"[\u4e00-\u9fa5·]+", name):
        return False
    single, compound, not_in_name = surnames()
    if any(c in not_in_name for c in name[1:]) or name in role_words:
        return False
    return name[0] in single or name.startswith(compound) or (alone and len(name) <= 3 and name[0] in surname_data().word_like)


def is_time_word(word: str) -> bool:
    """明天, 前年: a time, though its first character is a surname."""
    return any(c in surname_data().time_chars for c in word[1:])
