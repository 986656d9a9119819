"""The national standards behind 居民身份证号码 (GB 11643-1999) and 统一社会信用代码 (GB 32100-2015):
check characters, region codes, and what an ID number says about its holder."""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re

from pydantic import BaseModel

from agent.zh.jio import jionlp
from agent.zh.width import to_halfwidth

log = logging.getLogger(__name__)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# 省级行政区划代码 (GB/T 2260) the first two digits must be one of.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_PATTERN = re.compile(rf"[{USCC_CHARSET}]{{2}}\d{{6}}[{USCC_CHARSET}]{{10}}")


class IdInfo(BaseModel):
    birth_date: dt.date
    gender: str  # 男 | 女
    age: int
    region_code: str
    region_name: str | None = None


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def clean_code(value: str) -> str:
    """An ID number or USCC as typed (spaces, dashes, full-width, lower case) to its bare characters."""
    return re.sub(r"[\s\-]", "", to_halfwidth(value)).upper()


@functools.cache
def _id_parser():
    # jionlp loads its region dictionary on first use (~0.3 s): once per process, read-only after.
    return jionlp().gadget.id_card_parser.IDCardParser()


def load_region_table() -> None:
    """Load jionlp's ID region table now rather than on the first ID number."""
    _id_parser()._prepare()


def describe_id(valid_id: str, today: dt.date) -> IdInfo:
    """Birth date, gender, age and region of an 18-character ID number already checked valid."""
    v = valid_id
    born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    region_name = None
    try:
        parsed = _id_parser()(v)
        if parsed:
            region_name = "".join(p for p in (parsed["province"], parsed["city"], parsed["county"]) if p) or None
    except Exception:  # region names are a nicety; the checksum already passed
        log.warning("jionlp could not parse the region of an ID number", exc_info=True)
    return IdInfo(birth_date=born, gender="男" if int(v[16]) % 2 else "女", age=age, region_code=v[:6],
                  region_name=region_name)


_MOBILE = re.compile(r"1[3-9]\d{9}")  # 手机号码 (as agent.privacy.MOBILE; zh stays below privacy)


def id_number_holds(code: str) -> bool:
    """An 18-character ID number whose region, birth date and check character all hold (upper-case X)."""
    if not re.fullmatch(r"\d{17}[\dX]", code) or code[:2] not in PROVINCE_CODES:
        return False
    try:
        dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    return id_check_digit(code[:17]) == code[17]


def checked_number(code: str) -> str | None:
    """``id_number`` or ``phone`` for characters that can only be one (an ID number's check character holds, a
    mobile's shape), else None: what groups read together must be, before they are taken for one number."""
    if len(code) == 18 and id_number_holds(code):
        return "id_number"
    if _MOBILE.fullmatch(code):
        return "phone"
    return None
