"""ID numbers, phones and 统一社会信用代码 in a message, told apart by their shape and the cue before them."""
from __future__ import annotations

import re

from agent.forms.validators import check_id_number, check_uscc
from agent.forms.vocabulary import FormWords
from agent.privacy import ID_NUMBER, MOBILE
from agent.zh.groups import join_groups
from agent.zh.ids import checked_number
from agent.zh.patterns import alternation
from agent.zh.sentences import sentence_start

_RUN_RE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|＋)?86[\s\-]?)?[0-9A-Za-z](?:[\s\-]?[0-9A-Za-z])+(?![0-9A-Za-z])")
# 号码 says phone, except in 身份证号码 / 证件号码.
_PHONE_NUMBER_WORD = r"(?<!身份证)(?<!证件)(?<!身份)号码"

_LONGEST = 18  # characters of the longest value (ID number, USCC)
Number = tuple[str, str, int, int]  # (type, cleaned value, start, end)


class NumberReader:
    """Finds the numbers; the cue words come from the vocabulary."""

    def __init__(self, words: FormWords):
        cues = words.number_cues
        self.cues = (
            ("id_number", re.compile(alternation(cues.id_number))),
            ("phone", re.compile(alternation(cues.phone) + "|" + _PHONE_NUMBER_WORD)),
            ("uscc", re.compile(alternation(cues.uscc))),
            ("other", re.compile(alternation(cues.other))),
        )

    def find(self, text: str) -> list[Number]:
        """(type, cleaned, start, end) for ID numbers, phones and USCCs, by shape and cue."""
        found: list[Number] = []
        for m in _RUN_RE.finditer(text):
            cls = self.classify(text, m.start(), m.end())
            if re.search(r"\s", m.group(0)) and (cls is None or len(cls[1]) > _LONGEST):
                # spaces between values or groups (370112 1996 0208 5829 182 6971 6652): no one value is that long
                found.extend(self._split(text, m))
            elif cls:
                found.append((*cls, m.start(), m.end()))
        return found

    def _split(self, text: str, m: re.Match) -> list[Number]:
        """A spaced run read as its values: groups that together make an ID number or mobile whose checks hold
        ("371402 1996 0514 485x 183 3859 1343"), the groups left over each as a value of its own
        ("13812345678 370102…", "0531-88886666")."""
        words = [(m.start() + p.start(), m.start() + p.end()) for p in re.finditer(r"\S+", m.group(0))]
        groups = [(m.start() + p.start(), m.start() + p.end()) for p in re.finditer(r"[0-9A-Za-z]+", m.group(0))]
        joined = join_groups([text[a:b].upper() for a, b in groups], checked_number) \
            if self._cue(text, m.start()) != "other" else []
        got: list[Number] = []
        for first, last, kind in joined:
            a, b = groups[first][0], groups[last - 1][1]
            got.append((kind, re.sub(r"[\s\-]", "", text[a:b]).upper(), a, b))
        got += [(*c, a, b) for a, b in words
                if not any(x < b and a < y for _, _, x, y in got) and (c := self.classify(text, a, b))]
        if not got and re.search(r"[A-Za-z]", m.group(0)):
            # "mobile 186 6988 2043": the digits after an English word, still spaced
            got = self._parts(text, m, r"\d(?:[\s\-]?\d)*")
        return sorted(got, key=lambda n: n[2])

    def _parts(self, text: str, m: re.Match, part: str) -> list[Number]:
        spans = [(m.start() + p.start(), m.start() + p.end()) for p in re.finditer(part, m.group(0))]
        return [(*c, a, b) for a, b in spans if (c := self.classify(text, a, b))]

    def cue_before(self, text: str, start: int) -> str | None:
        """The kind of number the nearest cue before ``start`` (in its clause) names."""
        return self._cue(text, start)

    def _cue(self, text: str, start: int) -> str | None:
        clause = text[max(sentence_start(text, start), start - 14):start]
        cues = [(m.end(), kind) for kind, rx in self.cues for m in rx.finditer(clause)]
        return max(cues)[1] if cues else None

    def classify(self, text: str, start: int, end: int) -> tuple[str, str] | None:
        raw = text[start:end]
        c = re.sub(r"[\s\-]", "", raw).upper()
        if c.startswith("+"):
            c = c[1:]
        if not re.search(r"\d", c) or len(c) < 7:
            return None
        cue = self._cue(text, start)
        if cue == "other":
            return None
        digits = c[2:] if c.startswith("86") and len(c) == 13 else c
        has_letters = bool(re.search(r"[A-Z]", c[:-1]))
        if cue == "uscc" or (len(c) == 18 and has_letters):
            return ("uscc", c) if len(c) >= 15 else None
        if cue == "id_number":
            return "id_number", c
        if cue == "phone" and not has_letters and not (len(c) == 18 and re.fullmatch(ID_NUMBER, c)):
            # (号码是 + 18 digits shaped like an ID number is that ID number, even with a mistyped check digit)
            return "phone", digits
        if has_letters:
            return None
        return _by_shape(raw, c, digits)


def _by_shape(raw: str, c: str, digits: str) -> tuple[str, str] | None:
    """A number without a cue: what its length and digits make it."""
    if len(c) == 18 and re.fullmatch(ID_NUMBER, c):  # c is upper case
        if not check_id_number(c).valid and check_uscc(c).valid:
            return "uscc", c
        return "id_number", c
    if len(c) == 15 and c.isdigit():
        return "id_number", c
    if re.fullmatch(MOBILE, digits):
        return "phone", digits
    if re.fullmatch(r"0\d{9,11}", c) and "-" in raw or re.fullmatch(r"0[1-9]\d{9,10}", c):
        return "phone", c
    return None
