"""Validate and normalise one form value by its field type.

Every check returns a ``Validation``: the normalised value, whether it is valid,
and a plain Chinese error the citizen can act on. Invalid values are returned
too (normalised as far as possible) so callers can keep and flag them.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel

log = logging.getLogger(__name__)


class Validation(BaseModel):
    value: str
    valid: bool
    error: str | None = None


class IdInfo(BaseModel):
    birth_date: dt.date
    gender: str  # 男 | 女
    age: int
    region_code: str
    region_name: str | None = None


def _ok(value: str) -> Validation:
    return Validation(value=value, valid=True)


def _bad(value: str, error: str) -> Validation:
    return Validation(value=value, valid=False, error=error)


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation (１２３, ＋, －) to ASCII."""
    return unicodedata.normalize("NFKC", text)


# --- 身份证号 (GB 11643-1999) ----------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# 省级行政区划代码 (GB/T 2260) the first two digits must be one of.
_PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
}


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def _clean_id(value: str) -> str:
    return re.sub(r"[\s\-]", "", to_halfwidth(value)).upper()


def _validate_id(value: str, today: dt.date | None = None) -> Validation:
    v = _clean_id(value)
    if not v:
        return _bad(v, "请填写身份证号")
    if re.fullmatch(r"\d{15}", v):
        return _bad(v, "这是15位的旧身份证号（第一代身份证已停止使用），请提供18位的居民身份证号")
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return _bad(v, f"身份证号应为18位（前17位是数字，最后一位是数字或X），您填写的是{len(v)}位")
    if v[:2] not in _PROVINCE_CODES:
        return _bad(v, "身份证号前两位不是有效的省级地区代码，请核对")
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return _bad(v, f"身份证号中的出生日期 {v[6:10]}-{v[10:12]}-{v[12:14]} 不是有效日期，请核对")
    today = today or dt.date.today()
    if born > today or born.year < 1900:
        return _bad(v, f"身份证号中的出生日期 {born.isoformat()} 不合理，请核对")
    if id_check_digit(v[:17]) != v[17]:
        return _bad(v, "身份证号校验位不正确，可能有数字输错了，请逐位核对")
    return _ok(v)


@functools.lru_cache(maxsize=1)
def _id_parser():
    # jionlp loads its region dictionary on first use (~0.3 s): do it once.
    from jionlp.gadget.id_card_parser import IDCardParser

    return IDCardParser()


def id_number_info(id_number: str, today: dt.date | None = None) -> IdInfo | None:
    """Birth date, gender, age and region of a valid ID number; None when it is invalid."""
    checked = _validate_id(id_number, today)
    if not checked.valid:
        return None
    v = checked.value
    born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    today = today or dt.date.today()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    region_name = None
    try:
        parsed = _id_parser()(v)
        if parsed:
            region_name = "".join(p for p in (parsed["province"], parsed["city"], parsed["county"]) if p) or None
    except Exception:  # region names are a nicety; the checksum already passed
        log.warning("jionlp could not parse the region of an ID number", exc_info=True)
    return IdInfo(
        birth_date=born,
        gender="男" if int(v[16]) % 2 else "女",
        age=age,
        region_code=v[:6],
        region_name=region_name,
    )


# --- 统一社会信用代码 (GB 32100-2015) ---------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_PATTERN = re.compile(rf"[{USCC_CHARSET}]{{2}}\d{{6}}[{USCC_CHARSET}]{{10}}")


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _validate_uscc(value: str) -> Validation:
    v = re.sub(r"[\s\-]", "", to_halfwidth(value)).upper()
    if not v:
        return _bad(v, "请填写统一社会信用代码")
    if len(v) != 18:
        return _bad(v, f"统一社会信用代码应为18位，您填写的是{len(v)}位")
    wrong = sorted({c for c in v if c not in USCC_CHARSET})
    if wrong:
        return _bad(v, f"统一社会信用代码不会含有字符 {'、'.join(wrong)}（不使用 I、O、S、V、Z），请核对")
    if not _USCC_PATTERN.fullmatch(v):
        return _bad(v, "统一社会信用代码第3到8位应为行政区划数字代码，请核对")
    if uscc_check_char(v[:17]) != v[17]:
        return _bad(v, "统一社会信用代码校验位不正确，可能有字符输错了，请对照营业执照核对")
    return _ok(v)


# --- 电话 -------------------------------------------------------------------

def _validate_phone(value: str) -> Validation:
    v = re.sub(r"[\s\-()（）]", "", to_halfwidth(value))
    v = re.sub(r"^(?:\+86|0086|86(?=1\d{10}$))", "", v)
    if not v:
        return _bad(v, "请填写联系电话")
    if not v.isdigit():
        return _bad(v, "电话号码只能包含数字，请核对")
    if v.startswith("1"):
        if len(v) != 11:
            return _bad(v, f"手机号应为11位，您填写的是{len(v)}位，请核对")
        if not re.fullmatch(r"1[3-9]\d{9}", v):
            return _bad(v, "手机号第二位应为3到9，请核对")
        return _ok(v)
    if v.startswith("0"):
        area = 3 if v[1] in "12" else 4  # 010 and 02x are the only 3-digit area codes
        local = v[area:]
        if len(local) in (7, 8) and local[0] != "0":
            return _ok(f"{v[:area]}-{local}")
        return _bad(v, "固定电话应为区号加7到8位号码，如 0531-88889999，请核对")
    return _bad(v, "请填写11位手机号，或带区号的固定电话（如 0531-88889999）")


# --- 日期 -------------------------------------------------------------------

_CN_DIGITS = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "O": "0", "一": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
CN_NUM = "〇零○一二两三四五六七八九十百千万"


def cn_int(text: str) -> int | None:
    """'十二' -> 12, '二〇二四' -> 2024 (digit by digit), '12' -> 12; None when not a number."""
    text = to_halfwidth(text.strip())
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(c in _CN_DIGITS for c in text) and len(text) >= 3:  # 年份: 二〇二四
        return int("".join(_CN_DIGITS[c] for c in text))
    import cn2an

    try:
        return int(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


_ABS_DATE = re.compile(
    rf"^(?P<y>\d{{4}}|[{CN_NUM}]{{4}})\s*(?:年|[-/.])\s*(?P<m>\d{{1,2}}|[{CN_NUM}]{{1,2}})\s*(?:月|[-/.])\s*"
    rf"(?P<d>\d{{1,2}}|[{CN_NUM}]{{1,3}})\s*(?:日|号)?$"
)


def parse_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """An absolute or relative date expression to a date (None when it is not one precise day)."""
    from agent.slots import relative_date  # relative expressions live with the extractor

    t = to_halfwidth(text).strip()
    if re.fullmatch(r"\d{8}", t):
        t = f"{t[:4]}-{t[4:6]}-{t[6:]}"
    m = _ABS_DATE.match(t)
    if m:
        y, mo, d = (cn_int(m.group(k)) for k in "ymd")
        if None in (y, mo, d):
            return None
        try:
            return dt.date(y, mo, d)
        except ValueError:
            return None
    return relative_date(t, today or dt.date.today())


def _validate_date(value: str, today: dt.date | None = None) -> Validation:
    v = to_halfwidth(value).strip()
    if not v:
        return _bad(v, "请填写日期")
    m = _ABS_DATE.match(v) or (re.fullmatch(r"\d{8}", v) and _ABS_DATE.match(f"{v[:4]}-{v[4:6]}-{v[6:]}"))
    if m:
        y, mo, d = (cn_int(m.group(k)) for k in "ymd")
        try:
            return _ok(dt.date(y, mo, d).isoformat())
        except (ValueError, TypeError):
            return _bad(v, f"{value} 不是有效日期（如没有2月30日），请核对")
    parsed = parse_date(v, today)
    if parsed:
        return _ok(parsed.isoformat())
    if re.search(r"\d{4}\s*年\s*\d{1,2}\s*月$", v):
        return _bad(v, "请写到具体哪一天，如 2024年3月5日")
    return _bad(v, "日期看不懂，请写成 2024-03-05 或 2024年3月5日")


# --- 选项 -------------------------------------------------------------------

# Words people say for an option. Keys are canonical option texts used in forms.
ENUM_SYNONYMS: dict[str, list[str]] = {
    "男": ["男性", "男孩", "男孩子", "男宝", "男宝宝", "儿子", "男娃", "小子", "男的"],
    "女": ["女性", "女孩", "女孩子", "女宝", "女宝宝", "女儿", "闺女", "女娃", "千金", "女的"],
    "父亲": ["爸爸", "父亲", "孩子爸爸", "孩子爸", "孩子他爸", "宝宝爸爸", "爸", "父"],
    "母亲": ["妈妈", "母亲", "孩子妈妈", "孩子妈", "孩子他妈", "宝宝妈妈", "妈", "母"],
    "随父": ["随父亲", "随爸爸", "跟爸爸", "跟父亲", "随父落户", "跟爸", "随爸", "爸爸那边", "落在爸爸", "上在爸爸"],
    "随母": ["随母亲", "随妈妈", "跟妈妈", "跟母亲", "随母落户", "跟妈", "随妈", "妈妈那边", "落在妈妈", "上在妈妈"],
    "子女": ["儿子", "女儿", "闺女", "孩子"],
    "配偶": ["老伴", "爱人", "老公", "老婆", "丈夫", "妻子", "媳妇"],
    "父母": ["父亲", "母亲", "爸爸", "妈妈"],
    "其他监护人": ["爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "监护人"],
    "是": ["是的", "对", "有", "需要", "要"],
    "否": ["不是", "没有", "无", "不需要", "不要", "不"],
}


def enum_surfaces(options: list[str]) -> list[tuple[str, str]]:
    """(surface text, option) pairs for the options and their synonyms, longest first."""
    pairs: dict[str, str] = {}
    for opt in options:
        pairs.setdefault(opt, opt)
        for syn in ENUM_SYNONYMS.get(opt, []):
            pairs.setdefault(syn, opt)
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


def _validate_enum(value: str, options: list[str] | None) -> Validation:
    v = to_halfwidth(value).strip()
    options = options or []
    if not options:
        return _ok(v) if v else _bad(v, "请选择一项")
    if v in options:
        return _ok(v)
    for surface, opt in enum_surfaces(options):
        if v == surface:
            return _ok(opt)
    hits = {opt for surface, opt in enum_surfaces(options) if len(surface) > 1 and surface in v}
    if len(hits) == 1:
        return _ok(hits.pop())
    return _bad(v, f"请从以下选项中选择：{'、'.join(options)}")


# --- 地址 -------------------------------------------------------------------

_ADDRESS_MARKERS = re.compile(r"[省市区县旗镇乡村路街巷道号楼室栋幢组]|街道|小区|社区|大厦|花园|公寓|单元")


@functools.lru_cache(maxsize=2048)
def _place_of(address: str) -> tuple[bool, str]:
    """(names a city or county, the part after it) by jionlp's administrative-division table."""
    try:
        import jionlp

        parsed = jionlp.parse_location(address)
    except Exception:  # the table is a help, not a gate: fall back to the markers
        log.warning("jionlp could not parse an address", exc_info=True)
        return True, address
    return bool(parsed.get("city") or parsed.get("county")), parsed.get("detail") or ""


def _validate_address(value: str) -> Validation:
    v = re.sub(r"\s+", "", to_halfwidth(value))
    if not v:
        return _bad(v, "请填写地址")
    if len(v) < 6 or not _ADDRESS_MARKERS.search(v):
        return _bad(v, "地址太简略，请写到区县、街道和门牌号，如：济南市历下区泉城路8号")
    has_place, detail = _place_of(v)
    if not has_place:
        return _bad(v, "地址请从市、区县写起，如：济南市历下区泉城路8号")
    if len(detail) < 2:
        return _bad(v, "地址请写到街道（乡镇）和门牌号，如：济南市历下区泉城路8号")
    return _ok(v)


# --- 金额 / 整数 ------------------------------------------------------------

_UNIT = {"亿": Decimal(100_000_000), "万": Decimal(10_000), "千": Decimal(1_000), "仟": Decimal(1_000),
         "百": Decimal(100), "佰": Decimal(100), "k": Decimal(1_000), "w": Decimal(10_000)}


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
        head = Decimal(m.group(1)) * _UNIT[m.group(2)]
        rest = m.group(3)
        if not rest:
            return head
        if rest.isdigit() and len(rest) == 1:  # 3万5 -> 35000 (the next unit down)
            lower = {"亿": "千万", "万": "千", "千": "百", "仟": "百", "k": "百", "w": "千"}[m.group(2)]
            return head + Decimal(rest) * (Decimal(10_000_000) if lower == "千万" else _UNIT[lower])
        tail = parse_money(rest)
        return None if tail is None else head + tail
    import cn2an

    if re.fullmatch(rf"[{CN_NUM}点]+", t):
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
    return None


def format_money(amount: Decimal) -> str:
    q = amount.quantize(Decimal("0.01"))
    return str(q.quantize(Decimal(1))) if q == q.to_integral() else str(q)


def _validate_money(value: str) -> Validation:
    v = to_halfwidth(value).strip()
    if not v:
        return _bad(v, "请填写金额")
    amount = parse_money(v)
    if amount is None:
        return _bad(v, "金额看不懂，请写成数字，如 3.5万 或 35000 元")
    if amount < 0:
        return _bad(v, "金额不能是负数")
    return _ok(format_money(amount))


_INT_UNITS = r"(?:个|人|名|位|岁|年|次|套|间|户|辆|台|张|份|天|月|家|只|条)$"


def _validate_int(value: str) -> Validation:
    v = to_halfwidth(value).strip().replace(",", "")
    if not v:
        return _bad(v, "请填写数字")
    core = re.sub(_INT_UNITS, "", v)
    n = cn_int(core) if re.fullmatch(rf"\d+|[{CN_NUM}]+", core) else None
    if n is None:
        return _bad(v, "请填写一个整数，如 3 或 三")
    return _ok(str(n))


def _validate_text(value: str) -> Validation:
    v = re.sub(r"\s+", " ", value).strip()
    if not v:
        return _bad(v, "请填写此项")
    if len(v) > 200:
        return _bad(v[:200], "内容太长，请控制在200字以内")
    return _ok(v)


def validate(field_type: str, value: str, options: list[str] | None = None, today: dt.date | None = None) -> Validation:
    """Validate ``value`` as a form field of ``field_type`` (see corpus.schema.FieldType)."""
    value = "" if value is None else str(value)
    if field_type == "id_number":
        return _validate_id(value, today)
    if field_type == "phone":
        return _validate_phone(value)
    if field_type == "date":
        return _validate_date(value, today)
    if field_type == "enum":
        return _validate_enum(value, options)
    if field_type == "address":
        return _validate_address(value)
    if field_type == "uscc":
        return _validate_uscc(value)
    if field_type == "money":
        return _validate_money(value)
    if field_type == "int":
        return _validate_int(value)
    if field_type == "text":
        return _validate_text(value)
    raise ValueError(f"unknown field type {field_type!r}; expected one of corpus.schema.FieldType")
