"""A part of a number said before, corrected on its own: 身份证最后一位是X, 电话后两位应该是51, 前三位是139, 第十五位
应该是3. The side
words are data (``form_words.yaml``: ``part_cues``); which number is the kind named before them (身份证, 电话) and
whose it is the person named there (我父亲的…), else the one that kind last filled."""
from __future__ import annotations

import re
from dataclasses import dataclass

from agent.forms.numbers import NumberReader
from agent.forms.vocabulary import FormWords
from agent.zh.numerals import CN_NUM, cn_int
from agent.zh.patterns import alternation
from agent.zh.sentences import sentence_start

PART_TYPES = ("id_number", "phone", "uscc")


@dataclass
class Part:
    kind: str | None   # id_number | phone | uscc, None when no cue says which
    side: str          # last | first | at (the ``at``-th character, from 1)
    digits: str
    start: int         # where the correction starts in the message
    at: int = 0
    pos: int = 0       # where its side word is: a number said before it in the same message is the one corrected


class PartReader:
    def __init__(self, words: FormWords, numbers: NumberReader):
        cues = words.part_cues
        self.sides = {w: "last" for w in cues.last} | {w: "first" for w in cues.first}
        self.numbers = numbers
        self.part_re = re.compile(
            rf"(?P<side>{alternation(list(self.sides))})\s*(?:[{CN_NUM}\d]+)?\s*位(?:数字|数|号码|号)?\s*"
            # 最后四位我打错了，应该是…: a short aside saying it was wrong may come before the new digits
            rf"(?:[^\d。；;]{{0,6}}?(?:{alternation(words.correction_cues)})[^\d。；;]{{0,4}}?)?"
            rf"(?:应该|应当|应|其实)?(?:是|为|改成|改为|换成|写成)\s*(?P<digits>[0-9Xx]+)")
        self.at_re = re.compile(rf"第\s*(?P<n>[{CN_NUM}\d]+)\s*位(?:数字|数)?\s*"
                                rf"(?:应该|应当|应|其实)?(?:是|为|改成|改为|换成|写成)\s*(?P<digits>[0-9Xx])(?![0-9Xx])")

    def find(self, text: str) -> list[Part]:
        out = []
        for m in self.part_re.finditer(text):
            kind = self.numbers.cue_before(text, m.start())
            out.append(Part(kind if kind in PART_TYPES else None, self.sides[m.group("side")],
                            m.group("digits").upper(), sentence_start(text, m.start()), pos=m.start()))
        for m in self.at_re.finditer(text):
            n = cn_int(m.group("n"))
            kind = self.numbers.cue_before(text, m.start())
            if n:
                out.append(Part(kind if kind in PART_TYPES else None, "at", m.group("digits").upper(),
                                sentence_start(text, m.start()), at=n, pos=m.start()))
        return out


def splice(old: str, part: Part) -> str | None:
    """``old`` with the part replaced; None when the part is not shorter than the number."""
    n = len(part.digits)
    if not old or n >= len(old):
        return None
    if part.side == "at":
        return old[:part.at - 1] + part.digits + old[part.at:] if 1 <= part.at <= len(old) else None
    return old[:-n] + part.digits if part.side == "last" else part.digits + old[n:]
