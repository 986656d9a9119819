"""A part of a number said before, corrected on its own: 身份证最后一位是X, 电话后两位应该是51, 前三位是139, 中间四位
应该是9375, 倒数第五位应为5, 第三个数不对，是七, 后四位是零零三零. The side words, the units, the words before the
new digits and the correction cues are data (``form_words.yaml``: ``part_cues``, ``correction_cues``); which number
is the kind named before them (身份证, 电话) and whose it is the person named there (我父亲的…), else the one that kind
last filled. A whole number said right after a correction cue replaces the number of its kind said before it
(电话1345…，不对，是1345…): ``replaced``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from agent.forms.found import Slot
from agent.forms.numbers import NumberReader
from agent.forms.vocabulary import FormWords
from agent.zh.numerals import CN_NUM, SPOKEN_DIGIT_CHARS, cn_int, read_digits, spoken_digits_to_digits
from agent.zh.patterns import alternation, longest_first
from agent.zh.sentences import sentence_start
from agent.zh.width import to_halfwidth_in_place

PART_TYPES = ("id_number", "phone", "uscc")
# A whole number's length (GB 11643, mobile numbers, GB 32100): a number one part short of it is completed.
FULL_LENGTH = {"id_number": 18, "phone": 11, "uscc": 18}
# Seven digits or more after a part's words are a whole number, read by the number reader (后三位打错了，是1660…).
_WHOLE = 7
# After the new digits: not a word going on (是一样的 is no digit); a particle may end the clause (是51吧).
_DIGITS_END = r"(?=$|[^\u4e00-\u9fff]|[了吧啊呀哦的呢嘛])"
# How far a correction cue may sit between two numbers of a kind for the later to replace the earlier.
_REPLACE_GAP = 24


@dataclass
class Part:
    kind: str | None   # id_number | phone | uscc, None when no cue says which
    side: str          # last | first | middle | at (the ``at``-th character, from 1) | from_end (``at``-th from the end)
    digits: str
    start: int         # where the correction starts in the message
    at: int = 0
    pos: int = 0       # where its side word is: a number said before it in the same message is the one corrected


class PartReader:
    def __init__(self, words: FormWords, numbers: NumberReader):
        cues = words.part_cues
        self.sides = {w: "last" for w in cues.last} | {w: "first" for w in cues.first} | \
            {w: "middle" for w in cues.middle}
        self.numbers = numbers
        self.correction = re.compile(alternation(words.correction_cues))
        self.loose = set(cues.loose_units)
        count = rf"[{CN_NUM}\d]+"
        unit = rf"(?P<unit>{alternation(longest_first([*cues.units, *cues.loose_units]))})(?:数字|号码|数|号)?"
        tail = (  # 最后四位我打错了，应该是…: a short aside saying it was wrong may come before the new digits
            rf"\s*(?P<aside>[^\d。；;]{{0,8}}?(?:{alternation(words.correction_cues)})[^\d。；;]{{0,6}}?)?"
            rf"(?:{alternation(longest_first(cues.say))})\s*(?P<digits>[0-9Xx{SPOKEN_DIGIT_CHARS}]+){_DIGITS_END}")
        self.side_re = re.compile(rf"(?P<side>{alternation(longest_first(self.sides))})\s*(?:{count})?\s*{unit}{tail}")
        end = rf"(?P<end>{alternation(cues.from_end)})\s*" if cues.from_end else "(?P<end>(?!))?"
        self.at_re = re.compile(rf"(?:{end})?第\s*(?P<n>{count})\s*{unit}{tail}")

    def find(self, text: str) -> list[Part]:
        out: list[Part] = []
        said: list[tuple[str, int]] | None = None  # (kind, end) of the numbers in the message, read when needed
        for m, side in [*((m, self.sides[m.group("side")]) for m in self.side_re.finditer(text)),
                        *((m, "from_end" if m.group("end") else "at") for m in self.at_re.finditer(text))]:
            at = (cn_int(m.group("n")) or 0) if side in ("at", "from_end") else 0
            if said is None:
                said = [(t, b) for t, _, _, b in self.numbers.find(spoken_digits_to_digits(to_halfwidth_in_place(text)))]
            part = self._part(text, m, side, said, at)
            if part is not None and (side not in ("at", "from_end") or (at and len(part.digits) == 1)):
                out.append(part)
        return out

    def _part(self, text: str, m: re.Match, side: str, said: list[tuple[str, int]], at: int = 0) -> Part | None:
        digits = read_digits(m.group("digits")).upper()
        if len(digits) >= _WHOLE:
            return None  # a whole number: the number reader has it
        named = self.numbers.cue_before(text, m.start())
        if m.group("unit") in self.loose and named not in PART_TYPES and not m.group("aside"):
            return None  # 第二个是三岁: 个 counts digits only when a number or a correction is spoken of
        # no kind named right before (幺五五…，哎第三个数不对): the kind of the number said last before it
        kind = named if named in PART_TYPES else \
            next((t for t, end in reversed(said) if end <= m.start() and t in PART_TYPES), None)
        return Part(kind, side, digits, sentence_start(text, m.start()), at=at, pos=m.start())


def splice(old: str, part: Part, full: int | None = None) -> str | None:
    """``old`` with the part replaced; a number ``full`` says is short by just the part's digits is completed by
    them (17 digits, then 最后一位是X). None when the part does not fit."""
    n = len(part.digits)
    if not old:
        return None
    if full is not None and len(old) + n == full and part.side in ("last", "first"):
        return old + part.digits if part.side == "last" else part.digits + old
    if n >= len(old):
        return None
    if part.side in ("at", "from_end"):
        i = part.at - 1 if part.side == "at" else len(old) - part.at
        return old[:i] + part.digits + old[i + 1:] if 0 <= i < len(old) else None
    if part.side == "middle":
        i = (len(old) - n) // 2
        return old[:i] + part.digits + old[i + n:]
    return old[:-n] + part.digits if part.side == "last" else part.digits + old[n:]


def replaced(text: str, slots: Sequence[Slot], correction: re.Pattern) -> list[Slot]:
    """``slots`` without the numbers a later one of the same kind replaces in the same breath (电话1345…，不对，
    是1345…): the later takes the earlier's person when it names none."""
    out = list(slots)
    numbers = [i for i, s in enumerate(out) if s.type in PART_TYPES]
    dropped = set()
    for i, j in zip(numbers, numbers[1:]):
        a, b = out[i], out[j]
        gap = text[a.end:b.start]
        if a.type == b.type and b.role in (None, a.role) and len(gap) <= _REPLACE_GAP and "。" not in gap \
                and correction.search(gap):
            dropped.add(i)
            if b.role is None:
                out[j] = b.model_copy(update={"role": a.role})
    return [s for i, s in enumerate(out) if i not in dropped]
