"""Verifier: LLM text may say only what the cited sources say. Every material, department, money amount, day count
and phone number in it must appear in them, and no yes/no claim may contradict them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agent.zh.patterns import alternation, longest_first
from corpus.datafile import load_data_file
from index.text import normalize

DATA_FILE = Path(__file__).parent / "data" / "verifier.yaml"
_MONEY_RE = re.compile(r"\d+(?:\.\d+)?\s*元")
_DAYS_RE = re.compile(r"(\d+)\s*(?:个)?(?:工作日|自然日|天|日|个月|小时)")
_PHONE_NUM_RE = re.compile(r"(?<!\d)(?:\d{3,4}-)?\d{5,11}(?!\d)")
_CLAUSE = re.compile(r"(?<=[？?])|[，,。；;！!\n]")  # a question mark stays with its clause


class VerifierWords(BaseModel):
    """``data/verifier.yaml``."""

    model_config = ConfigDict(extra="forbid")

    generic_materials: list[str]
    material_endings: list[str] = Field(min_length=1)
    material_lead_words: list[str] = []
    same_materials: list[list[str]] = []  # names of one material (户口本, 户口簿): one in a lead, another in sources
    free_words: list[str] = Field(min_length=1)
    generic_departments: list[str]
    department_endings: list[str] = Field(min_length=1)
    department_lead_words: list[str] = []
    modals: dict[str, list[str]] = Field(min_length=1)  # kind of claim -> its words
    negations: list[str] = Field(min_length=1)
    question_words: list[str] = []


def _words_re(words: list[str]) -> str:
    return alternation(longest_first(words))


class _Claims:
    """Departments and yes/no claims in a text, by the words of ``data/verifier.yaml``."""

    def __init__(self, words: VerifierWords):
        self.words = words
        self.department = re.compile(rf"[\u4e00-\u9fa5]{{2,12}}?(?:{_words_re(words.department_endings)})")
        lead = _words_re(words.department_lead_words)
        self.department_lead = re.compile(rf"^(?:{lead})+") if lead else None
        self.material = re.compile(
            rf"[\u4e00-\u9fa5A-Za-z（）()《》]{{0,12}}?(?:{_words_re(words.material_endings)})")
        self.material_lead = re.compile(rf"^(?:{_words_re(words.material_lead_words)})+") \
            if words.material_lead_words else None
        self.same_material = {w: group for group in words.same_materials for w in group}
        negs = _words_re(words.negations)
        self.kinds = {kind: (re.compile(_words_re(ws)), re.compile(rf"(?:{negs})(?:{_words_re(ws)})"))
                      for kind, ws in words.modals.items()}
        self.claim_words = re.compile(_words_re([w for ws in words.modals.values() for w in ws] + words.negations))

    def departments(self, text: str) -> list[str]:
        found = (self.department_lead.sub("", m.group(0)) if self.department_lead else m.group(0)
                 for m in self.department.finditer(text))
        return [d for d in found if d not in self.words.generic_departments and len(d) >= 3]

    def materials(self, text: str) -> list[tuple[str, str]]:
        """(phrase, ending) of each material a text names: the words before the name that are not part of it go."""
        out = []
        for m in self.material.finditer(text):
            phrase = self.material_lead.sub("", m.group(0)) if self.material_lead else m.group(0)
            phrase = phrase.strip("（）()《》")
            ending = next(e for e in longest_first(self.words.material_endings) if phrase.endswith(e))
            out.append((phrase, ending))
        return out

    def names_of(self, material: str) -> list[str]:
        """A material's name and the other names of the same material."""
        return list(self.same_material.get(material, [material]))

    def polarity(self, clause: str) -> dict[str, bool]:
        """Each kind of claim the clause makes (can, need, fee…): True for a yes, False for a no. A question
        claims nothing."""
        if any(w in clause for w in self.words.question_words):
            return {}
        return {kind: not negated.search(clause) for kind, (said, negated) in self.kinds.items() if said.search(clause)}

    def topic(self, clause: str) -> set[str]:
        """The clause's character bigrams without its claim words: what the claim is about."""
        rest = self.claim_words.sub(" ", clause)
        return {rest[i:i + 2] for i in range(len(rest) - 1) if " " not in rest[i:i + 2]}


@dataclass
class Verdict:
    ok: bool
    unsupported: list[str] = field(default_factory=list)


class Verifier:
    """Every material, fee, time limit and phone number in generated text must be in the cited sources, and no
    stretch of ``secret`` (the system prompt) may appear in it (an injection that worked)."""

    def __init__(self, secret: str = "", window: int = 12, words: VerifierWords | None = None):
        self.secret = "".join(secret.split())
        self.window = window
        self.words = words or load_data_file(DATA_FILE, VerifierWords)
        self.claims = _Claims(self.words)

    def run(self, text: str, sources: list[str]) -> Verdict:
        verdict = self._supported(text, sources)
        if self.leaks(text):
            verdict.ok = False
            verdict.unsupported.append("system prompt")
        return verdict

    def leaks(self, text: str) -> bool:
        """True when ``text`` repeats any stretch of the secret."""
        compact = "".join(text.split())
        w = self.window
        return any(self.secret[i:i + w] in compact for i in range(0, len(self.secret) - w + 1, 3))

    def _supported(self, text: str, sources: list[str]) -> Verdict:
        src = normalize("\n".join(sources))
        src_compact = re.sub(r"\s", "", src)
        body = normalize(text)
        bad: list[str] = []
        for phrase, ending in self.claims.materials(body):
            if len(phrase) < 3 or phrase in self.words.generic_materials:
                continue
            if self._material_supported(phrase, ending, src_compact):
                continue
            bad.append(phrase)
        for m in _MONEY_RE.finditer(body):
            if re.sub(r"\s", "", m.group(0)) not in src_compact:
                bad.append(m.group(0))
        free = self.words.free_words
        if any(w in body for w in free) and not any(w in src for w in free):
            bad.append("免费")
        for m in _DAYS_RE.finditer(body):
            if not re.search(rf"(?<!\d){m.group(1)}(?!\d)", src):
                bad.append(m.group(0))
        for m in _PHONE_NUM_RE.finditer(body):
            num = m.group(0)
            if num not in src_compact and not _DAYS_RE.match(body[m.start():]):
                bad.append(num)
        bad += self.unknown_departments(body, src_compact)
        bad += self.contradictions(body, src)
        return Verdict(ok=not bad, unsupported=list(dict.fromkeys(bad)))

    def _material_supported(self, phrase: str, ending: str, src_compact: str) -> bool:
        """The phrase is in the sources, or its distinctive tail is, or (the words before the name being the
        lead's own: 父母双方的身份证) the name itself when it names one thing (身份证, 户口本; not 证明), by any
        of its names."""
        if phrase in src_compact or _core_supported(phrase, src_compact):
            return True
        if ending in self.words.generic_materials or len(ending) < 3:
            return False
        return any(name in src_compact for name in self.claims.names_of(ending))

    def unknown_departments(self, body: str, src_compact: str) -> list[str]:
        """Departments named in ``body`` (normalised) that the sources (normalised, no spaces) do not name."""
        named = self.claims.departments(src_compact)
        return [d for d in self.claims.departments(body) if not _department_supported(d, src_compact, named)]

    def contradictions(self, body: str, src: str) -> list[str]:
        """Lead clauses that say yes where every source clause of the same kind about the same thing says no, or
        the reverse."""
        sources = [(self.claims.topic(c), self.claims.polarity(c)) for c in _CLAUSE.split(src) if c.strip()]
        out = []
        for clause in (c for c in _CLAUSE.split(body) if c.strip()):
            topic = self.claims.topic(clause)
            if len(topic) < 2:
                continue
            need = max(2, len(topic) // 2)
            for kind, said in self.claims.polarity(clause).items():
                about = {claims[kind] for s_topic, claims in sources if kind in claims and len(topic & s_topic) >= need}
                if about and said not in about:  # no source says the same of it, and one says the opposite
                    out.append(clause.strip())
                    break
        return out


def _department_supported(name: str, src: str, named: list[str] = ()) -> bool:
    """A department is supported when the sources name it, or most of its words (市场监管局 for 市场监督管理局),
    or it is a short name of one they name: its characters in order, from the first, with the same ending
    (医保局 for 医疗保障局, 人社局 for 人力资源和社会保障局)."""
    if name in src or _core_supported(name, src):
        return True
    grams = {name[i:i + 2] for i in range(len(name) - 1)}
    if sum(g in src for g in grams) >= 0.5 * len(grams):
        return True
    return any(_short_name_of(name, full) for full in named)


def _short_name_of(short: str, full: str) -> bool:
    """``short`` takes ``full``'s characters in order and ends as it ends:
    a Chinese short name (住建局 of 市住房和城乡建设局; not 税务局 of 市场监督管理局)."""
    if len(short) >= len(full) or short[-1] != full[-1]:
        return False
    at = full.find(short[0])
    for ch in short[1:]:
        at = full.find(ch, at + 1)
        if at < 0:
            return False
    return True


def _core_supported(phrase: str, src: str) -> bool:
    """A material phrase is supported when its distinctive tail (the document's own name) is in the sources."""
    for n in range(min(len(phrase), 8), 3, -1):
        if phrase[-n:] in src:
            return True
    return False
