"""Look-alikes of a question about a government service, told apart before routing (``data/lookalike.yaml``).

A shop's refund, a phone plan, which brand of lorry to buy, another country's visa or insurance, and a complaint
put as a question (为什么税务说先去社保，社保又说先去税务？) share words with the guides (办理, 申请, 注销, 运输),
so the classifier and retrieval read them as consults. They are recognised, like the safety guard's requests, as
compositions of concept classes (``agent.guard.first_rule``): a commercial business with a shopping ask, a place
abroad with a procedure only that country runs, a grievance about how a service treated the speaker with a sign
of indignation; each unless a class of government context occurs (公积金, 营业执照, 回国, 国内, 欠薪…)."""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.guard import ConceptRule, TermClass, TermMatcher, _unknown_classes, first_rule, fold
from agent.intent import IntentResult
from agent.reply import IntentName
from corpus.datafile import load_data_file
from index.text import Tokenizer, plain_tokenizer

log = logging.getLogger("daoban.agent")

DEFAULT_PATH = Path(__file__).parent / "data" / "lookalike.yaml"


class LookAlikeKind(str, Enum):
    commercial = "commercial"   # a company's own product or service
    abroad = "abroad"           # another country's procedure
    complaint = "complaint"     # a grievance about a service, put as a question


INTENT_OF: dict[LookAlikeKind, IntentName] = {LookAlikeKind.commercial: "out_of_scope",
                                              LookAlikeKind.abroad: "out_of_scope",
                                              LookAlikeKind.complaint: "complaint"}


class LookAlikeRule(ConceptRule):
    kind: LookAlikeKind


class LookAlikeData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: int = Field(default=20, gt=0)
    gap: int = Field(default=4, ge=0)
    # the classifier's intents a rule's verdict replaces (never apply with data, human or a refusal)
    overrides: dict[LookAlikeKind, list[IntentName]]
    # the classifier's intent kept when a term of one of these classes occurs (human: the message asks for a person)
    keep: dict[IntentName, list[str]] = {}
    classes: dict[str, TermClass]
    # the classes whose words say a message is a grievance (a weak complaint without them may be a question)
    grievance: list[str] = []
    rules: list[LookAlikeRule] = Field(min_length=1)
    # what the user reads for an out-of-scope kind ({hotline}); a complaint gets the complaint reply
    replies: dict[LookAlikeKind, str] = {}

    @model_validator(mode="after")
    def _out_of_scope_kinds_have_a_reply(self) -> "LookAlikeData":
        missing = [k.value for k, intent in INTENT_OF.items()
                   if intent == "out_of_scope" and not (self.replies.get(k) or "").strip()]
        if missing:
            raise ValueError(f"replies: no text for {', '.join(missing)}")
        unknown = sorted({c for names in self.keep.values() for c in names} - set(self.classes))
        if unknown:
            raise ValueError(f"keep: unknown class {', '.join(unknown)}")
        unknown = sorted(set(self.grievance) - set(self.classes))
        if unknown:
            raise ValueError(f"grievance: unknown class {', '.join(unknown)}")
        return self


@dataclass(frozen=True)
class LookAlikeVerdict:
    kind: LookAlikeKind
    evidence: tuple[str, ...]  # "class:term" of each part that matched, for logs and tests
    rule: int


def load_lookalike_data(path: Path = DEFAULT_PATH, text: str | None = None) -> LookAlikeData:
    """Parse and validate the file; problems are raised as ``file:line: message``."""
    return load_data_file(path, LookAlikeData, text, check=lambda model, info: _unknown_classes(path, model, info))


class LookAlikes:
    """``check(text)`` -> the look-alike a message is, or None; ``apply(intent, text)`` -> the intent to use."""

    def __init__(self, data: LookAlikeData, tokenizer: Tokenizer | None = None):
        self.data = data
        word_freq = functools.lru_cache(maxsize=4096)((tokenizer or plain_tokenizer()).word_freq)
        self.matchers = {name: TermMatcher(spec, data.gap, word_freq) for name, spec in data.classes.items()}

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH, tokenizer: Tokenizer | None = None) -> "LookAlikes":
        return LookAlikes(load_lookalike_data(Path(path)), tokenizer) if tokenizer is not None else _load(str(path))

    def check(self, text: str) -> LookAlikeVerdict | None:
        folded = fold(text)
        found = first_rule(folded, self.data.rules, self.matchers, self.data.window) if folded else None
        if found is None:
            return None
        index, evidence = found
        return LookAlikeVerdict(self.data.rules[index].kind, evidence, index)

    def apply(self, intent: IntentResult, *texts: str) -> tuple[IntentResult, LookAlikeVerdict | None]:
        """The intent a look-alike stands for, when the classifier's is one its kind overrides; the texts are
        read in turn (the message in plain words, then as typed)."""
        verdict = next((v for v in map(self.check, dict.fromkeys(texts)) if v is not None), None)
        if verdict is None or intent.name not in self.data.overrides.get(verdict.kind, ()) \
                or self._kept(intent.name, texts):
            return intent, None
        log.info("look-alike: %s (%s)", verdict.kind.value, ", ".join(verdict.evidence))
        return IntentResult(INTENT_OF[verdict.kind], max(intent.confidence, 0.6), intent.probs, "lookalike"), verdict

    def grieves(self, text: str) -> bool:
        """The message holds a grievance's words (推来推去, 一个多月了, 态度差, 凭什么)."""
        folded = fold(text)
        return any(self.matchers[c].find(folded) for c in self.data.grievance)

    def _kept(self, intent: IntentName, texts: tuple[str, ...]) -> bool:
        """The message says what its intent is (a grievance that asks for a person stays a request for one)."""
        classes = self.data.keep.get(intent, ())
        return any(self.matchers[c].find(fold(t)) for c in classes for t in texts if t)

    def reply(self, verdict: LookAlikeVerdict, hotline: str = "12345") -> str | None:
        text = self.data.replies.get(verdict.kind)
        return re.sub(r"\s+", "", text).replace("{hotline}", hotline) if text else None


@functools.lru_cache(maxsize=4)
def _load(path: str) -> LookAlikes:
    return LookAlikes(load_lookalike_data(Path(path)))
