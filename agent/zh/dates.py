"""Dates as people write and say them: 2024年3月5日, 2024-03-05, 二〇二〇年十二月三十一日, and relative ones
(上周三, 昨天, 下个月1号, 3天前, 去年3月5日) anchored on a given day."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from agent.zh.numerals import CN_NUM, cn_int
from agent.zh.width import to_halfwidth

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
DAY_WORDS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "明天": 1, "明日": 1,
             "后天": 2, "大后天": 3}
_NUMTOK = rf"(?:\d{{1,2}}|[{CN_NUM}]{{1,3}})"

ABS_DATE = re.compile(
    rf"^(?P<y>\d{{4}}|[{CN_NUM}]{{4}})\s*(?:年|[-/.])\s*(?P<m>\d{{1,2}}|[{CN_NUM}]{{1,2}})\s*(?:月|[-/.])\s*"
    rf"(?P<d>\d{{1,2}}|[{CN_NUM}]{{1,3}})\s*(?:日|号)?$"
)


def _shift_month(day: dt.date, months: int, dom: int) -> dt.date | None:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    try:
        return dt.date(y, m + 1, dom)
    except ValueError:
        return None


def _weekday(m: re.Match, today: dt.date) -> dt.date | None:
    weeks = {"上上": -2, "上": -1, "这": 0, "本": 0, "": 0, "下": 1, "下下": 2}[m.group("wp") or ""]
    monday = today - dt.timedelta(days=today.weekday())
    return monday + dt.timedelta(weeks=weeks, days=WEEKDAYS[m.group("wd")])


def _month_rel(m: re.Match, today: dt.date) -> dt.date | None:
    d = cn_int(m.group("d"))
    return None if d is None else _shift_month(today, {"上": -1, "这": 0, "本": 0, "下": 1}[m.group("mp")], d)


def _days_ago(m: re.Match, today: dt.date) -> dt.date | None:
    n = cn_int(m.group("n"))
    if n is None:
        return None
    return today + dt.timedelta(days=-n if m.group("dir") in ("前", "以前", "之前") else n)


def _ymd(m: re.Match, today: dt.date) -> dt.date | None:
    rel = m.group("yp")
    mo, d = cn_int(m.group("m")), cn_int(m.group("d"))
    if mo is None or d is None:
        return None
    if m.group("y"):
        y = cn_int(m.group("y"))
    elif rel:
        y = today.year + {"前年": -2, "去年": -1, "今年": 0, "明年": 1}[rel]
    else:
        y = today.year
    try:
        day = dt.date(y, mo, d)
    except (ValueError, TypeError):
        return None
    if not m.group("y") and not rel and day > today + dt.timedelta(days=180):
        day = day.replace(year=y - 1)  # "12月28号" said in January means last December
    return day


def _day_word(m: re.Match, today: dt.date) -> dt.date | None:
    return today + dt.timedelta(days=DAY_WORDS[m.group(0)])


@dataclass(frozen=True)
class DatePattern:
    pattern: re.Pattern
    resolve: Callable[[re.Match, dt.date], dt.date | None]
    calendar: bool = False  # year/month/day (groups y, yp, m, d, suffix), not a relative expression


DATE_PATTERNS: tuple[DatePattern, ...] = (
    DatePattern(re.compile(
        rf"(?<!\d)(?:(?P<y>\d{{4}}|[〇零○一二三四五六七八九]{{4}})\s*(?:年|[-/.])|(?P<yp>前年|去年|今年|明年))?\s*"
        rf"(?P<m>{_NUMTOK})\s*(?:月|(?<=\d)[-/.])\s*(?P<d>{_NUMTOK})\s*(?P<suffix>日|号)?(?!\d)"
    ), _ymd, calendar=True),
    DatePattern(re.compile(r"(?P<wp>上上|上|这|本|下下|下)?(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"),
                _weekday),
    DatePattern(re.compile(rf"(?P<mp>上|这|本|下)个?月\s*(?P<d>{_NUMTOK})\s*[号日]"), _month_rel),
    DatePattern(re.compile(rf"(?P<n>\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*天(?P<dir>以前|之前|前|以后|之后|后)"), _days_ago),
    DatePattern(re.compile("|".join(sorted(DAY_WORDS, key=len, reverse=True))), _day_word),
)


def relative_date(text: str, today: dt.date) -> dt.date | None:
    """A whole string like 上周三, 昨天, 下个月1号, 3天前 or 去年3月5日 to a date."""
    for p in DATE_PATTERNS:
        m = p.pattern.fullmatch(text.strip())
        if m:
            return p.resolve(m, today)
    return None


def absolute_date(text: str) -> re.Match | None:
    """The year, month and day groups of 2024-03-05, 2024年3月5日 or 20240305 (already half-width, stripped)."""
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return ABS_DATE.match(text)


def parse_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """An absolute or relative date expression to a date (None when it is not one precise day)."""
    t = to_halfwidth(text).strip()
    m = absolute_date(t)
    if m:
        y, mo, d = (cn_int(m.group(k)) for k in "ymd")
        if None in (y, mo, d):
            return None
        try:
            return dt.date(y, mo, d)
        except ValueError:
            return None
    return relative_date(t, today or dt.date.today())
