"""Read real wording as the plain Chinese the guides use (``data/wording.yaml``): dialect and spoken words
(咋整 -> 怎么办, 俺 -> 我), filler dropped (嗯, 就是说), a hotline operator's note read as the caller's words
(来电人称其母亲… -> 我的母亲…; for a form, ``as_caller``: 来电人王海涛，称其母… -> 我王海涛，称我母亲…), and a switch
of topic (先不说这个了，另外问个事，…) cut to the new topic."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from corpus.datafile import load_data_file

DATA_PATH = Path(__file__).parent / "data" / "wording.yaml"
# A switch cue counts at the start of the message or of a clause, not inside one (关了算了 is no switch).
_CLAUSE_START = r"(?:^|(?<=[，,。.！!？?；;：:\s]))"
_CLAUSE_END = re.compile(r"[，,。.！!？?；;：:\s]")
_SPACES = re.compile(r"\s{2,}")


class SwitchWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aside: list[str] = Field(min_length=1)  # the old topic follows, up to the next comma
    new: list[str] = Field(min_length=1)    # the new topic follows


class PurposeWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verbs: list[str] = Field(min_length=1)
    endings: list[str] = Field(min_length=1)
    starts: list[str] = Field(min_length=1)
    not_with: list[str] = Field(min_length=1)


class DeathWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[str] = Field(min_length=1)
    standard: str = Field(min_length=1)
    ambiguous: list[str] = Field(default_factory=list)  # words that also say growing old (老了)
    not_after: list[str] = Field(default_factory=list)  # right before an ambiguous word: a time still to come
    not_before: list[str] = Field(default_factory=list)  # right after it

    @model_validator(mode="after")
    def _ambiguous_are_death_words(self) -> "DeathWords":
        unknown = [w for w in self.ambiguous if w not in self.words]
        if unknown:
            raise ValueError(f"ambiguous words must be among words: {unknown}")
        return self


class CallerWords(BaseModel):
    """An operator's note read as the caller's words, for the forms (``caller:`` in data/wording.yaml)."""

    model_config = ConfigDict(extra="forbid")

    speaker: list[str] = Field(min_length=1)      # the caller: read as 我
    not_before: list[str] = []                    # a speaker word followed by one of these is part of a longer word
    is_: list[str] = Field(default=[], alias="is")  # 系, 为 right after the speaker word: 是
    is_not_before: list[str] = []                 # …unless one of these follows (来电人为其母亲办理: 为 is "for")
    their: list[str] = Field(min_length=1)        # 其 before a family word: the caller's
    says: list[str] = []                          # 称 before a family word: the caller's too (称女儿… -> 称我女儿…)
    formal_kin: dict[str, str] = {}               # 其母 -> 母亲


class NameWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    glue_after: list[str] = Field(min_length=1)


class WordingVocabulary(BaseModel):
    """``data/wording.yaml``."""

    model_config = ConfigDict(extra="forbid")

    standard: dict[str, str]
    fillers: list[str]
    operator: dict[str, str]
    switch: SwitchWords
    purpose: PurposeWords
    death: DeathWords
    caller: CallerWords
    names: NameWords


@dataclass(frozen=True)
class Reworded:
    text: str
    switched: bool = False  # the message sets the topic so far aside


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


class Wording:
    """The reading of ``data/wording.yaml``: ``run(text)`` -> the text in plain words, and whether it switches."""

    def __init__(self, vocabulary: WordingVocabulary | None = None, kin_words: list[str] | None = None,
                 family_words: list[str] | None = None):
        """``kin_words``: family words but a child's (for 走了 read as 去世了); ``family_words``: the rest of the
        family words (a child's), which 其 may stand before too. Both default to agent/data/roles.yaml's."""
        v = vocabulary or load_data_file(DATA_PATH, WordingVocabulary)
        if kin_words is None or family_words is None:
            from agent.forms.vocabulary import default_vocabulary  # the family words of the forms' role vocabulary

            vocab = default_vocabulary()
            family = [w for w, role in vocab.role_cues.items() if role in vocab.roles.kin]
            # not a child's words: 孩子走了 is far more often a child who left than one who died
            kin_words = kin_words if kin_words is not None else [w for w in family if vocab.role_cues[w] != "child"]
            family_words = family_words if family_words is not None else family
        self._death = re.compile(rf"((?:{_alternation(kin_words)})[^，,。.！!？?；;]{{0,10}}?)({_alternation(v.death.words)})")
        self._died = v.death.standard
        self._ambiguous = set(v.death.ambiguous)
        self._to_come = (re.compile(f"(?:{_alternation(v.death.not_after)})$") if v.death.not_after else None,
                         re.compile(_alternation(v.death.not_before)) if v.death.not_before else None)
        self._map = {**v.standard, **v.operator, **{f: "" for f in v.fillers}}
        self._standard_map = dict(v.standard)
        self._standard = re.compile(_alternation(self._standard_map)) if self._standard_map else None
        self._words = re.compile(_alternation(self._map)) if self._map else None
        self._aside = re.compile(_CLAUSE_START + "(?:" + _alternation(v.switch.aside) + ")")
        self._new = re.compile(_CLAUSE_START + "(?:" + _alternation(v.switch.new) + ")")
        p = v.purpose
        self._purpose = re.compile(rf"^(?:(?:{_alternation(p.verbs)})\S{{1,12}}(?:{_alternation(p.endings)})"
                                   rf"|(?:{_alternation(p.starts)})\S{{1,16}})$")
        self._asks = re.compile(_alternation(p.not_with))
        self._caller, self._their = _caller_patterns(v.caller, kin_words + list(family_words or []))
        self._glued = re.compile(rf"({_alternation([*v.names.glue_after, *kin_words, *(family_words or [])])})"
                                 r"[ \t\u3000]+(?=[\u4e00-\u9fa5])")
        self._formal_kin = v.caller.formal_kin

    def standard(self, text: str) -> str:
        """Only the dialect and spoken words read as standard ones (俺娘 -> 我母亲): what a form reads values
        from, every other word and number kept as written; a space after a name's cue or a family word dropped
        (我叫 胡长水 -> 我叫胡长水)."""
        text = self._standard.sub(lambda m: self._standard_map[m.group(0)], text) if self._standard_map else text
        return self._glued.sub(r"\1", text)

    def is_operator_note(self, text: str) -> bool:
        """Whether ``text`` speaks of the caller in the third person (来电人…, 诉求人…)."""
        return self._caller.search(text) is not None

    def as_caller(self, text: str, note: bool = True) -> str:
        """An operator's note in the caller's words, for a form: 来电人王海涛 -> 我王海涛, 来电人系… -> 我是…, and,
        when ``note`` (the conversation is a note), 其女儿 / 其母 -> 我女儿 / 我母亲. Other words are kept as written."""
        text = self._caller.sub(lambda m: "我是" if m.group("is") else "我", text)
        if note:
            text = self._their.sub(lambda m: (m.group("says") or "") + "我"
                                   + self._formal_kin.get(m.group("kin"), m.group("kin")), text)
        return text

    def without_purpose(self, text: str) -> str:
        """``text`` without its clauses that say what the result is for (开个无犯罪证明，考教师资格要用), when
        something else is left."""
        clauses = re.split(r"([，,。；;！!\s]+)", text)
        kept = [c for i, c in enumerate(clauses)
                if i % 2 or not (self._purpose.match(c) and not self._asks.search(c))]
        rest = re.sub(r"([，,。；;！!\s])[，,。；;！!\s]+", r"\1", "".join(kept)).strip(" ，,。；;")
        return rest if rest and len(kept) < len(clauses) else text

    def run(self, text: str) -> Reworded:
        rest, switched = self.switch_rest(text)
        rest = self.without_purpose(rest)
        if self._words is not None:
            rest = self._words.sub(lambda m: self._map[m.group(0)], rest)
        rest = self._death.sub(self._as_died, rest)
        return Reworded(_SPACES.sub(" ", rest).strip(" ，,。"), switched)

    def _as_died(self, m: re.Match) -> str:
        before, after = self._to_come
        if m.group(2) in self._ambiguous and (
                before is not None and before.search(m.group(1)) or after is not None and after.match(m.string, m.end())):
            return m.group(0)  # 以后老了, 老了以后: growing old, still to come
        return m.group(1) + self._died

    def switch_rest(self, text: str) -> tuple[str, bool]:
        """What follows the last switch cue (with, after an 'aside' cue, the old topic up to the next comma), when
        something follows; else the text as it is."""
        cuts = [m.end() for m in self._new.finditer(text)]
        for m in self._aside.finditer(text):
            end = _CLAUSE_END.search(text, m.end())
            cuts.append(end.end() if end else m.end())
        for cut in sorted(cuts, reverse=True):
            rest = text[cut:].lstrip(" ，,。.：:")
            if rest:
                return rest, True
        return text, False


def _caller_patterns(words: CallerWords, family: list[str]) -> tuple[re.Pattern, re.Pattern]:
    """The speaker word (with 系/为 after it as ``is``) and 其 before a family word (``kin``)."""
    not_before = f"(?!{_alternation(words.not_before)})" if words.not_before else ""
    is_not = f"(?!{_alternation(words.is_not_before)})" if words.is_not_before else ""
    is_ = f"(?P<is>(?:{_alternation(words.is_)}){is_not})?" if words.is_ else "(?P<is>(?!))?"
    speaker = re.compile(f"(?:{_alternation(words.speaker)}){not_before}{is_}")
    said = f"|(?P<says>{_alternation(words.says)})" if words.says else ""
    their = re.compile(f"(?:{_alternation(words.their)}{said})(?P<kin>{_alternation([*family, *words.formal_kin])})")
    return speaker, their


@functools.cache
def default_wording() -> Wording:
    """The shipped vocabulary, read once per process."""
    return Wording()
