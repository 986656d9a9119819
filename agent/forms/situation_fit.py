"""Which of a matter's 情形 the form's own facts leave: the age of the person the application is for (from their ID)
and who applies (themselves, someone for them, an organisation). An option that states an age or an applicant the
form contradicts is ruled out (未满16周岁自愿申领 for a 30-year-old; 本人申请 when a daughter applies for her father);
when exactly one option is left the form ticks it, and the user sees and may change it. The words are data
(``situation_fit`` in agent/data/form_words.yaml); nothing here knows a matter."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.zh.patterns import checked_pattern

Party = Literal["self", "proxy", "organisation"]


class AgeBound(BaseModel):
    """An option's words for an age: ``pattern`` with the years as its first group, or fixed ``years``."""

    model_config = ConfigDict(extra="forbid")
    pattern: str
    bound: Literal["at_least", "under"]
    years: int | None = Field(default=None, ge=0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return checked_pattern(value)


class SituationFitWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ages: list[AgeBound] = Field(min_length=1)
    parties: dict[Party, list[str]] = Field(min_length=1)  # patterns an option names its applicant with


@dataclass(frozen=True)
class FormFacts:
    age: int | None      # of the person the application is for
    party: Party | None  # who applies for them


class SituationFit:
    def __init__(self, words: SituationFitWords):
        self.ages = [(re.compile(a.pattern), a.bound, a.years) for a in words.ages]
        self.parties = {party: re.compile("|".join(f"(?:{p})" for p in patterns))
                        for party, patterns in words.parties.items() if patterns}

    def pick(self, options: list[str], facts: FormFacts) -> str | None:
        """The one option the facts leave, or None (nothing ruled out, or two or more left)."""
        if len(options) < 2 or (facts.age is None and facts.party is None):
            return None
        left = [o for o in options if not self.ruled_out(o, facts)]
        return left[0] if len(left) == 1 else None

    def ruled_out(self, option: str, facts: FormFacts) -> bool:
        if facts.age is not None:
            for pattern, bound, years in self.ages:
                for m in pattern.finditer(option):
                    limit = years if years is not None else int(m.group(1))
                    if (facts.age < limit) if bound == "at_least" else (facts.age >= limit):
                        return True
        if facts.party is not None:
            named = {party for party, pattern in self.parties.items() if pattern.search(option)}
            if named and facts.party not in named:
                return True
        return False
