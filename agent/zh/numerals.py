"""Chinese numerals: 十二 -> 12, 二〇二四 -> 2024, and digits read one by one (幺三八…) as digits."""
from __future__ import annotations

import re

from agent.zh.groups import join_groups
from agent.zh.ids import checked_number
from agent.zh.width import to_halfwidth

CN_NUM = "〇零○一二两三四五六七八九十百千万"
# Digits of a year written one by one (二〇二四).
_YEAR_DIGITS = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "O": "0", "一": "1", "二": "2", "两": "2", "三": "3",
                "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# Digits of a phone or ID number said aloud (幺 for 1, 两 for 2, 洞 for 0).
_SPOKEN_DIGITS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
                  "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# An ID number's check character X said aloud (…四六叉): one character for one, as the digits; only as the 18th
# character of a number and not inside a word (叉车).
_SPOKEN_CHECK = {"叉": "X"}
_CHECK_END = rf"(?:[{''.join(_SPOKEN_CHECK)}xX](?![\u4e00-\u9fa5A-Za-z]))"
# Seven or more digits read one by one: a phone or ID number said aloud, never a quantity.
_SPOKEN_DIGIT_RUN = re.compile(
    rf"[零〇○一幺二两三四五六七八九](?:[\s\-]?[零〇○洞一幺二两三四五六七八九]){{6,}}(?:[\s\-]?{_CHECK_END})?")
# Digits said in groups with pauses (三七零六八三，幺九四六，零二二七，五七二九): groups of digits, said or written,
# between commas or spaces.
_DIGIT_GROUP = rf"[零〇○洞一幺二两三四五六七八九0-9]+{_CHECK_END}?"
_DIGIT_GROUPS = re.compile(rf"{_DIGIT_GROUP}(?:[，,、\s]{{1,2}}{_DIGIT_GROUP})+")
_GROUP_SEPARATORS = re.compile(r"[，,、\s]+")


def cn_int(text: str) -> int | None:
    """'十二' -> 12, '二〇二四' -> 2024 (digit by digit), '12' -> 12; None when not a number."""
    text = to_halfwidth(text.strip())
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(c in _YEAR_DIGITS for c in text) and len(text) >= 3:  # 年份: 二〇二四
        return int("".join(_YEAR_DIGITS[c] for c in text))
    import cn2an  # ~0.5 s to import: only when a numeral needs it

    try:
        return int(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def spoken_digits_to_digits(text: str) -> str:
    """幺三八零… (seven or more digits said one by one) to 1380…, one character for one, offsets unchanged; groups
    cut by commas that together make an ID number or mobile whose checks hold become digits between spaces."""
    text = _DIGIT_GROUPS.sub(_joined_groups, text)
    return _SPOKEN_DIGIT_RUN.sub(_spoken_run, text)


def _spoken_run(m: re.Match) -> str:
    """A run said digit by digit as digits; a check character said after it only when it is the 18th."""
    run = m.group(0)
    if run[-1] in _SPOKEN_CHECK and sum(c.isdigit() or c in _SPOKEN_DIGITS for c in run) != 17:
        return read_digits(run[:-1]) + run[-1]
    return read_digits(run)


SPOKEN_DIGIT_CHARS = "".join(_SPOKEN_DIGITS)


def read_digits(text: str) -> str:
    """Digits said one by one, however short (三九幺七 -> 3917, 零 -> 0); other characters as they are."""
    return "".join(_SPOKEN_DIGITS.get(c) or _SPOKEN_CHECK.get(c, c) for c in text)


def _joined_groups(m: re.Match) -> str:
    """The groups of one match that make a number, as digits with a space for each separator between them."""
    text = m.group(0)
    spans = [g.span() for g in re.finditer(_DIGIT_GROUP, text)]
    out = list(text)
    for first, last, _ in join_groups([read_digits(text[a:b]) for a, b in spans], lambda s: checked_number(s.upper())):
        a, b = spans[first][0], spans[last - 1][1]
        out[a:b] = _GROUP_SEPARATORS.sub(lambda sep: " " * len(sep.group(0)), read_digits(text[a:b]))
    return "".join(out)
