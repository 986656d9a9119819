"""Validate and normalise one form value by its field type.

Every check returns a ``Validation``: the normalised value, whether it is valid, and a plain Chinese error
the citizen can act on. Invalid values are returned too (normalised as far as possible) so callers can keep
and flag them. ``Validator`` holds what a check needs beyond the value: option synonyms and a cache of
jionlp's reading of addresses."""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re

from pydantic import BaseModel

from agent.forms.vocabulary import OptionWords, default_vocabulary
from agent.privacy import ID_NUMBER, MOBILE
from agent.zh.dates import absolute_date, parse_date
from agent.zh.ids import (PROVINCE_CODES, USCC_CHARSET, USCC_PATTERN, IdInfo, clean_code, describe_id,
                          id_check_digit, uscc_check_char)
from agent.zh.jio import jionlp
from agent.zh.money import format_money, parse_money
from agent.zh.numerals import CN_NUM, cn_int
from agent.zh.width import to_halfwidth

log = logging.getLogger(__name__)


class Validation(BaseModel):
    value: str
    valid: bool
    error: str | None = None


def _ok(value: str) -> Validation:
    return Validation(value=value, valid=True)


def _bad(value: str, error: str) -> Validation:
    return Validation(value=value, valid=False, error=error)


def check_id_number(value: str, today: dt.date | None = None) -> Validation:
    """居民身份证号码 (GB 11643-1999): length, region, birth date and check digit."""
    v = clean_code(value)
    if not v:
        return _bad(v, "请填写身份证号")
    if re.fullmatch(r"\d{15}", v):
        return _bad(v, "这是15位的旧身份证号（第一代身份证已停止使用），请提供18位的居民身份证号")
    if not re.fullmatch(ID_NUMBER, v):  # v is upper case
        return _bad(v, f"身份证号应为18位（前17位是数字，最后一位是数字或X），您填写的是{len(v)}位")
    if v[:2] not in PROVINCE_CODES:
        return _bad(v, "身份证号前两位不是有效的省级地区代码，请核对")
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return _bad(v, f"身份证号中的出生日期 {v[6:10]}-{v[10:12]}-{v[12:14]} 不是有效日期，请核对")
    today = today or dt.date.today()
    if born > today or born.year < 1900:
        return _bad(v, f"身份证号中的出生日期 {born.isoformat()} 不合理，请核对")
    if id_check_digit(v[:17]) != v[17]:
        # which part: the region and birth date read fine, so a sequence digit or the check digit is off
        return _bad(v, "身份证号最后一位（校验位）与前17位对不上：前6位地区码、第7-14位出生日期的格式都正常，"
                       "请先核对第15-17位和最后一位，再看其余数字有没有输错或两位颠倒")
    return _ok(v)


def id_number_info(id_number: str, today: dt.date | None = None) -> IdInfo | None:
    """Birth date, gender, age and region of a valid ID number; None when it is invalid."""
    checked = check_id_number(id_number, today)
    if not checked.valid:
        return None
    return describe_id(checked.value, today or dt.date.today())


def check_uscc(value: str) -> Validation:
    """统一社会信用代码 (GB 32100-2015): length, characters, region digits and check character."""
    v = clean_code(value)
    if not v:
        return _bad(v, "请填写统一社会信用代码")
    if len(v) != 18:
        return _bad(v, f"统一社会信用代码应为18位，您填写的是{len(v)}位")
    wrong = sorted({c for c in v if c not in USCC_CHARSET})
    if wrong:
        return _bad(v, f"统一社会信用代码不会含有字符 {'、'.join(wrong)}（不使用 I、O、S、V、Z），请核对")
    if not USCC_PATTERN.fullmatch(v):
        return _bad(v, "统一社会信用代码第3到8位应为行政区划数字代码，请核对")
    if uscc_check_char(v[:17]) != v[17]:
        return _bad(v, "统一社会信用代码校验位不正确，可能有字符输错了，请对照营业执照核对")
    return _ok(v)


def check_phone(value: str) -> Validation:
    v = re.sub(r"[\s\-()（）]", "", to_halfwidth(value))
    v = re.sub(r"^(?:\+86|0086|86(?=1\d{10}$))", "", v)
    if not v:
        return _bad(v, "请填写联系电话")
    if not v.isdigit():
        return _bad(v, "电话号码只能包含数字，请核对")
    if v.startswith("1"):
        if len(v) != 11:
            return _bad(v, f"手机号应为11位，您填写的是{len(v)}位，请核对")
        if not re.fullmatch(MOBILE, v):
            return _bad(v, "手机号第二位应为3到9，请核对")
        return _ok(v)
    if v.startswith("0"):
        area = 3 if v[1] in "12" else 4  # 010 and 02x are the only 3-digit area codes
        local = v[area:]
        if len(local) in (7, 8) and local[0] != "0":
            return _ok(f"{v[:area]}-{local}")
        return _bad(v, "固定电话应为区号加7到8位号码，如 0531-88889999，请核对")
    return _bad(v, "请填写11位手机号，或带区号的固定电话（如 0531-88889999）")


def check_date(value: str, today: dt.date | None = None) -> Validation:
    v = to_halfwidth(value).strip()
    if not v:
        return _bad(v, "请填写日期")
    m = absolute_date(v)
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


def check_money(value: str) -> Validation:
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


def check_int(value: str) -> Validation:
    v = to_halfwidth(value).strip().replace(",", "")
    if not v:
        return _bad(v, "请填写数字")
    core = re.sub(_INT_UNITS, "", v)
    n = cn_int(core) if re.fullmatch(rf"\d+|[{CN_NUM}]+", core) else None
    if n is None:
        return _bad(v, "请填写一个整数，如 3 或 三")
    return _ok(str(n))


def check_text(value: str) -> Validation:
    v = re.sub(r"\s+", " ", value).strip()
    if not v:
        return _bad(v, "请填写此项")
    if len(v) > 200:
        return _bad(v[:200], "内容太长，请控制在200字以内")
    return _ok(v)


_ADDRESS_MARKERS = re.compile(r"[省市区县旗镇乡村路街巷道号楼室栋幢组]|街道|小区|社区|大厦|花园|公寓|单元")


class Validator:
    """``validate`` for every field type; holds the option synonyms and jionlp's address readings."""

    def __init__(self, options: OptionWords):
        self.synonyms = options.synonyms
        self._place_of = functools.lru_cache(maxsize=2048)(self._read_place)

    def validate(self, field_type: str, value: str, options: list[str] | None = None,
                 today: dt.date | None = None) -> Validation:
        """Validate ``value`` as a form field of ``field_type`` (see corpus.schema.FieldType)."""
        value = "" if value is None else str(value)
        if field_type in ("id_number", "date"):
            return (check_id_number if field_type == "id_number" else check_date)(value, today)
        if field_type == "enum":
            return self.check_enum(value, options)
        if field_type == "address":
            return self.check_address(value)
        check = {"phone": check_phone, "uscc": check_uscc, "money": check_money, "int": check_int,
                 "text": check_text}.get(field_type)
        if check is None:
            raise ValueError(f"unknown field type {field_type!r}; expected one of corpus.schema.FieldType")
        return check(value)

    def surfaces(self, options: list[str]) -> list[tuple[str, str]]:
        """(surface text, option) pairs for the options and their synonyms, longest first."""
        pairs: dict[str, str] = {}
        for opt in options:
            pairs.setdefault(opt, opt)
            for syn in self.synonyms.get(opt, []):
                pairs.setdefault(syn, opt)
        return sorted(pairs.items(), key=lambda p: -len(p[0]))

    def check_enum(self, value: str, options: list[str] | None) -> Validation:
        v = to_halfwidth(value).strip()
        options = options or []
        if not options:
            return _ok(v) if v else _bad(v, "请选择一项")
        if v in options:
            return _ok(v)
        # the value was read half-width: so are the options (情形 titles carry full-width brackets)
        surfaces = [(to_halfwidth(surface), opt) for surface, opt in self.surfaces(options)]
        for surface, opt in surfaces:
            if v == surface:
                return _ok(opt)
        hits = {opt for surface, opt in surfaces if len(surface) > 1 and surface in v}
        if len(hits) == 1:
            return _ok(hits.pop())
        return _bad(v, f"请从以下选项中选择：{'、'.join(options)}")

    def check_address(self, value: str) -> Validation:
        v = re.sub(r"\s+", "", to_halfwidth(value))
        if not v:
            return _bad(v, "请填写地址")
        if len(v) < 6 or not _ADDRESS_MARKERS.search(v):
            return _bad(v, "地址太简略，请写到区县、街道和门牌号，如：济南市历下区泉城路8号")
        has_place, detail = self._place_of(v)
        if not has_place:
            return _bad(v, "地址请从市、区县写起，如：济南市历下区泉城路8号")
        if len(detail) < 2:
            return _bad(v, "地址请写到街道（乡镇）和门牌号，如：济南市历下区泉城路8号")
        return _ok(v)

    @staticmethod
    def _read_place(address: str) -> tuple[bool, str]:
        """(names a city or county, the part after it) by jionlp's administrative-division table."""
        try:
            parsed = jionlp().parse_location(address)  # its tables load on the first address checked
        except Exception:  # the table is a help, not a gate: fall back to the markers
            log.warning("jionlp could not parse an address", exc_info=True)
            return True, address
        return bool(parsed.get("city") or parsed.get("county")), parsed.get("detail") or ""


@functools.cache
def default_validator() -> Validator:
    """The validator over the shipped option words (one per process: its address cache is shared)."""
    return Validator(default_vocabulary().options)


def validate(field_type: str, value: str, options: list[str] | None = None, today: dt.date | None = None) -> Validation:
    """Validate ``value`` as a form field of ``field_type`` with the shipped option words."""
    return default_validator().validate(field_type, value, options, today)
