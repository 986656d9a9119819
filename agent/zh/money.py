"""Amounts of money as people say them: 3.5万, 三万五, 3万5千, 1,200元."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from agent.zh.numerals import CN_NUM, cn_int
from agent.zh.width import to_halfwidth

_UNIT = {"亿": Decimal(100_000_000), "万": Decimal(10_000), "千": Decimal(1_000), "仟": Decimal(1_000),
         "百": Decimal(100), "佰": Decimal(100), "k": Decimal(1_000), "w": Decimal(10_000)}
# The unit a bare trailing digit counts in: 3万5 is 3万5千.
_NEXT_UNIT_DOWN = {"亿": Decimal(10_000_000), "万": _UNIT["千"], "千": _UNIT["百"], "仟": _UNIT["百"],
                   "k": _UNIT["百"], "w": _UNIT["千"]}


def parse_money(text: str) -> Decimal | None:
    """'3.5万' -> 35000, '三万五' -> 35000, '3万5千' -> 35000, '1,200元' -> 1200; None otherwise."""
    t = to_halfwidth(text).strip().lower()
    t = re.sub(r"^(?:人民币|rmb|¥|￥)", "", t)
    t = re.sub(r"(?:元整|元|块钱|块|圆|整|人民币)$", "", t).replace(",", "").replace(" ", "")
    if not t:
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        pass
    # 3.5万 / 3万5千 / 3万5 (5 = 5千): split on the largest units, left to right.
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(亿|万|千|仟|k|w)(.*)", t)
    if m:
        return _digits_with_unit(m)
    if re.fullmatch(rf"[{CN_NUM}点]+", t):
        return _chinese_amount(t)
    return None


def _digits_with_unit(m: re.Match) -> Decimal | None:
    head = Decimal(m.group(1)) * _UNIT[m.group(2)]
    rest = m.group(3)
    if not rest:
        return head
    if rest.isdigit() and len(rest) == 1:  # 3万5 -> 35000 (the next unit down)
        return head + Decimal(rest) * _NEXT_UNIT_DOWN[m.group(2)]
    tail = parse_money(rest)
    return None if tail is None else head + tail


def _chinese_amount(t: str) -> Decimal | None:
    import cn2an  # ~0.5 s to import: only when a numeral needs it

    # 三万五 (= 35000): spoken money drops the trailing unit like 3万5.
    m2 = re.fullmatch(rf"([{CN_NUM}点]+)(万|千)([一二两三四五六七八九])", t)
    if m2:
        head = parse_money(m2.group(1) + m2.group(2))
        lower = {"万": Decimal(1_000), "千": Decimal(100)}[m2.group(2)]
        return None if head is None else head + Decimal(cn_int(m2.group(3))) * lower
    try:
        return Decimal(str(cn2an.cn2an(t, "smart")))
    except (ValueError, KeyError, TypeError):
        return None


def format_money(amount: Decimal) -> str:
    q = amount.quantize(Decimal("0.01"))
    return str(q.quantize(Decimal(1))) if q == q.to_integral() else str(q)
