"""Personal data in text and logs: the one place that knows what an ID number or a phone looks like.

``mask("身份证370102199003071234")`` -> ``身份证3701**********1234``. Covered: 18- and 15-digit ID
numbers (lowercase x too), mobiles (with +86/0086), bank cards, USCCs and landlines, written plain,
in groups (``3701 0219 8807 0123 19``, ``138-0531-1234``, ``138.0531.1234``, ``1 3 8 …``), in
full-width digits, in spoken Chinese digits (幺三八零…, 两), glued to Latin letters (``ID370…``,
``Tel138…``) and URL-encoded in a path or query. A person's name beside such a number is masked
too (王*, 李**). Masking keeps the text's length and shape: only digits and given names become ``*``.

``install_log_masking()`` masks every log record of the process, from any logger.
"""
from __future__ import annotations

import functools
import logging
import numbers
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import quote_plus, unquote_plus

from pydantic import BaseModel, ConfigDict, Field

from agent.zh.numerals import spoken_digits_to_digits
from agent.zh.patterns import alternation, longest_first
from corpus.datafile import load_data_file

DATA_FILE = Path(__file__).parent / "data" / "privacy.yaml"

# Bare shapes for code that only needs to recognise a whole value (intent features, receipt lookup).
MOBILE = r"1[3-9]\d{9}"
ID_NUMBER = r"\d{17}[\dXx]"
# The plain written forms, for code that replaces a number by a placeholder (agent.guard.fold);
# masking and detection use find_numbers(), which reads every form.
ID_RE = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")

# --- views -------------------------------------------------------------------
# Numbers are looked for in a "view" of the text with the same length, so a match's positions are
# the original's: full-width characters become ASCII, and in a second view spoken digits become digits.
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SPOKEN = str.maketrans("零〇○一幺二两三四五六七八九", "00011223456789")
_HAS_NUMBER = re.compile(r"[0-9０-９零〇○一幺二两三四五六七八九]")

_SEP = r"[ \t\-‐‑–—.·_]"  # what people put between digit groups (after the full-width mapping)
# A written number: digit groups joined by short separators. A trailing x belongs to an ID, not a word.
_GROUP = re.compile(r"[0-9]+(?:[Xx](?![A-Za-z]))?")
_RUN = re.compile(rf"{_GROUP.pattern}(?:{_SEP}{{1,3}}{_GROUP.pattern})*")
# Spoken digits come one character at a time, often run into the words around them: every digit is a group.
_DIGIT = re.compile(r"[0-9Xx]")
_SPOKEN_RUN = re.compile(rf"[0-9](?:{_SEP}{{0,3}}[0-9])*(?:{_SEP}{{0,3}}[Xx](?![A-Za-z]))?")
_LENGTHS = {11, 13, 15, 16, 17, 18, 19}  # mobile, +86 mobile, old ID or 0086 mobile, cards and IDs
_MIN_DIGITS, _MAX_DIGITS = min(_LENGTHS), max(_LENGTHS)

_USCC = re.compile(r"(?<![0-9A-Za-z])([0-9A-Z]{2}[0-9]{6})([0-9A-Z]{6})([0-9A-Z]{4})(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(0[0-9]{2,3}[\s\-]?)([0-9]{3,4})([\s\-]?[0-9]{4})(?![0-9A-Za-z])")
_URL_TOKEN = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
_URL_SAFE = "/?&=:;,@!$'()*~-._"
# A session id in a URL is its key to a citizen's data: never in a log (its secret travels in a header).
_SESSION_IN_URL = re.compile(r"((?:/sessions/|[?&]session_id=))([A-Za-z0-9_-]{6,64})")


@dataclass(frozen=True)
class Found:
    """A personal number: its kind, its span in the text, and the positions to hide."""

    kind: str  # id | mobile | card | uscc | landline
    start: int
    end: int
    hidden: tuple[int, ...]


# How people group a mobile or an ID; beside Latin letters only these (or one digit at a time) are read.
_USUAL_GROUPS = {(3, 4, 4), (2, 3, 4, 4), (4, 3, 4, 4), (6, 8, 4), (4, 4, 4, 4, 2), (6, 4, 4, 4)}


def _birth_ok(yyyymmdd: str) -> bool:
    return (yyyymmdd[:2] in ("18", "19", "20") and "01" <= yyyymmdd[4:6] <= "12"
            and "01" <= yyyymmdd[6:8] <= "31")


def _classify(digits: str, group_lens: list[int], letters: bool, cards: bool) -> tuple[str, range] | None:
    """What the digit string is, and which of its digits to hide; ``letters``: Latin letters touch it."""
    d, n = digits.upper(), len(digits)
    if "X" in d[:-1] or (d.endswith("X") and n != 18):
        return None
    if letters and len(group_lens) > 1 and tuple(group_lens) not in _USUAL_GROUPS and set(group_lens) != {1}:
        return None  # Tel138 0531 1234 is a phone, MB15537661-1-00 a code
    if re.fullmatch(MOBILE, d):
        return "mobile", range(3, 7)
    if n == 13 and d.startswith("86") and re.fullmatch(MOBILE, d[2:]):
        return "mobile", range(5, 9)
    if n == 15 and d.startswith("0086") and re.fullmatch(MOBILE, d[4:]):
        return "mobile", range(7, 11)
    if n == 18 and _birth_ok(d[6:14]):
        return "id", range(4, 14)
    if letters:  # ID370…, Tel138…, or a code such as YJS2026…: only a whole ID or mobile is read there
        return None
    if n == 18 and d.endswith("X"):
        return "id", range(4, 14)
    if n == 15 and d.isdigit() and _birth_ok("19" + d[6:12]):
        return "id", range(4, 11)  # the old 15-digit ID
    if cards and 16 <= n <= _MAX_DIGITS and d.isdigit() and _card_groups(group_lens):
        return "card", range(4, n - 4)
    return None


def _card_groups(lens: list[int]) -> bool:
    """Written whole, or in groups of four (6222 0202 0000 1234 567)."""
    return len(lens) == 1 or (all(k == 4 for k in lens[:-1]) and lens[-1] <= 4)


def _scan(view: str, run_re: re.Pattern, group_re: re.Pattern, cards: bool,
          plain: str | None = None) -> Iterator[Found]:
    """Numbers in ``view``: from each digit group, the longest window of whole groups that reads as one.
    All are kept, overlapping or not: more stars inside a run that holds a number cost nothing, and
    一 + a spoken ID read as a mobile from 一 must not leave the ID readable."""
    for run in run_re.finditer(view):
        if plain is not None and plain[run.start():run.end()] == run.group():
            continue  # no spoken digit in it: already read in the plain view
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in group_re.finditer(run.group())]
        if sum(b - a for a, b in groups) < _MIN_DIGITS:
            continue
        for i in range(len(groups)):
            ends, n = [], 0
            for j in range(i, len(groups)):
                n += groups[j][1] - groups[j][0]
                if n > _MAX_DIGITS:
                    break
                if n in _LENGTHS:
                    ends.append(j)
            for j in reversed(ends):  # the longest window from group i that is a number
                positions = [p for a, b in groups[i:j + 1] for p in range(a, b)]
                if plain is not None and 2 * sum(plain[p] != view[p] for p in positions) < len(positions):
                    continue  # mostly Arabic digits: 2000-01-01一0531… is a date, a word and a number
                start, end = groups[i][0], groups[j][1]
                got = _classify("".join(view[p] for p in positions), [b - a for a, b in groups[i:j + 1]],
                                _is_latin(view, start - 1) or _is_latin(view, end), cards)
                if got:
                    yield Found(got[0], start, end, tuple(positions[k] for k in got[1]))
                    break


def _is_latin(s: str, i: int) -> bool:
    return 0 <= i < len(s) and s[i].isascii() and s[i].isalpha()


def find_numbers(text: str) -> list[Found]:
    """Every personal number in ``text`` (already percent-decoded), in any of the written forms above."""
    if not text or not _HAS_NUMBER.search(text):
        return []
    view = text.translate(_FULLWIDTH)
    found = list(_scan(view, _RUN, _GROUP, cards=True))
    spoken = view.translate(_SPOKEN)
    if spoken != view:
        found += _scan(spoken, _SPOKEN_RUN, _DIGIT, cards=False, plain=view)
    said = spoken_digits_to_digits(view)  # said in groups between commas (三七零六八三，幺九四六，…)
    if said != spoken:
        found += _scan(said, _RUN, _GROUP, cards=False, plain=view)
    taken = [(f.start, f.end) for f in found]
    for m in _USCC.finditer(view):
        found.append(Found("uscc", m.start(), m.end(), tuple(range(m.start() + 6, m.start(3)))))
    for m in _LANDLINE.finditer(view):
        if not any(a < m.end() and m.start() < b for a, b in taken):  # 0086 138 … is a mobile
            found.append(Found("landline", m.start(), m.end(), tuple(range(m.start(2), m.end(2)))))
    return found


# --- names -------------------------------------------------------------------
# General Chinese surnames (the most common ones); compound ones are tried first.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许邓韩冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈"
    "钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔"
    "赖文施洪辛柯庄樊牛岳齐邢倪聂章鲁葛安颜殷詹欧耿焦俞左柳甘祝包宁尚符舒阮纪梅童凌毕单季裴霍涂成苗谷盛翁冉骆蓝"
    "游靳管柴蒙鲍华喻祁房滕屈饶解牟艾尤穆卓古吉缪简项麦褚娄窦戚岑景党宫费卜冷晏卫米柏宗瞿桂佟臧闵苟邬边卞姬仇栾"
    "隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查苑迟邝温阎鄢"
    # the same surnames in traditional characters
    "陳張劉楊黃趙吳孫馬羅鄭謝許鄧韓馮蕭葉蔣蘇呂盧鍾譚陸範賈韋鄒閆龍賀顧龔萬錢嚴湯莊聶魯顏歐關寧紀淩畢單塗駱藍"
    "遊鮑華饒衛鄺溫閻")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "司徒", "令狐",
                      "夏侯", "宇文", "轩辕", "端木", "独孤", "南宫", "西门", "呼延")
_NEAR = 30  # a name this many characters from a number is "beside" it


class NameWords(BaseModel):
    """agent/data/privacy.yaml: the words around a name written next to a personal number."""

    model_config = ConfigDict(extra="forbid")
    name_cues: list[str] = Field(min_length=1)
    number_labels: list[str] = Field(min_length=1)
    not_name_endings: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class _Words:
    cue_re: re.Pattern
    cues: tuple[str, ...]
    labels: tuple[str, ...]  # longest first
    not_name_endings: tuple[str, ...]


def load_name_words(path: Path = DATA_FILE, text: str | None = None) -> NameWords:
    """The word lists, or ``DataFileError`` (a ValueError) naming the file and line of what is wrong."""
    return load_data_file(path, NameWords, text)


@functools.cache
def _words() -> _Words:
    w = load_name_words()
    cues = alternation(longest_first(w.name_cues))
    # The name is read by a look-ahead so that 申请人姓名：孙晓雯 is seen after 姓名 as well as after 申请人.
    return _Words(re.compile(rf"(?:{cues})[\s:：]*(?:是|为)?[\s:：]*(?=(?P<run>[\u4e00-\u9fff]+))"),
                  tuple(w.name_cues), tuple(sorted(w.number_labels, key=len, reverse=True)), tuple(w.not_name_endings))


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _surname_len(name: str) -> int:
    if name.startswith(_COMPOUND_SURNAMES):
        return 2
    return 1 if name[:1] in _SURNAMES else 0


def _name_before(text: str, end: int, words: _Words) -> range | None:
    """The given name of a surnamed name written just before ``end`` (over a label such as 电话, 身份证)."""
    i = end
    while i > 0 and text[i - 1] in " \t\u3000:：是为+":
        i -= 1
    label = next((w for w in words.labels if text.endswith(w, 0, i)), "")
    i -= len(label)
    for owner in ("我的", "的"):  # 王丽，我的身份证…; 王丽的电话…
        if text.endswith(owner, 0, i):
            i -= len(owner)
            break
    while i > 0 and text[i - 1] in " \t\u3000,，:：、;；(（[【":
        i -= 1
    j = i
    while j > 0 and i - j < 4 and _is_han(text[j - 1]):
        j -= 1
    run = text[j:i]
    if not run or run.endswith(words.not_name_endings):
        return None
    for size in (4, 3, 2):
        cand = run[-size:] if len(run) >= size else ""
        sl = _surname_len(cand) if cand else 0
        if sl and 1 <= size - sl <= 2:
            return range(i - size + sl, i)
    return None


def _given_names(text: str, found: list[Found]) -> set[int]:
    """Positions of given names written beside a personal number (the surname stays readable)."""
    near = [(f.start, f.end) for f in found if f.kind != "uscc"]
    personal = [f for f in found if f.kind in ("id", "mobile", "card")]
    if not near:
        return set()
    words, out = _words(), set()
    for m in words.cue_re.finditer(text):  # 我叫王丽 … 139…
        run, s = m.group("run"), m.start("run")
        if run.startswith(words.labels + words.cues):  # 联系人电话…, 申请人姓名…: no name here
            continue
        sl = _surname_len(run)
        if not sl and len(run) > 3:  # no known surname: only a short word standing alone is a name
            continue
        given = range(s + max(sl, 1), s + min(len(run), max(sl, 1) + 2))
        if given and any(max(0, a - given.stop, s - b) <= _NEAR for a, b in near):
            out.update(given)
    for f in personal:  # 张三（身份证370…）, 李建国 139…
        given = _name_before(text, f.start, words)
        if given:
            out.update(given)
    return out


# --- masking -----------------------------------------------------------------

def _mask_plain(text: str) -> str:
    found = find_numbers(text)
    if not found:
        return text
    hidden = {p for f in found for p in f.hidden} | _given_names(text, found)
    return "".join("*" if i in hidden else c for i, c in enumerate(text))


def _mask_url_token(m: re.Match) -> str:
    # In a URL the digits sit next to hex escapes (%E8%AF%81370…): read it decoded, write it encoded.
    raw = m.group()
    decoded = unquote_plus(raw)
    masked = _mask_plain(decoded)
    return raw if masked == decoded else quote_plus(masked, safe=_URL_SAFE)


def mask(text: str) -> str:
    """``text`` with personal numbers and the names beside them partly replaced by ``*``."""
    if not text:
        return text
    if not isinstance(text, str):
        text = str(text)
    if "%" in text:
        text = _URL_TOKEN.sub(_mask_url_token, text)
    if "session" in text:
        text = _SESSION_IN_URL.sub(lambda m: m.group(1) + "*" * len(m.group(2)), text)
    return _mask_plain(text)


# --- logging -----------------------------------------------------------------

class _Masked:
    """A log argument that is neither text nor a number: masked however the message formats it."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __str__(self) -> str:
        return mask(str(self.value))

    def __repr__(self) -> str:
        return mask(repr(self.value))


def _mask_arg(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if value is None or isinstance(value, (bool, _Masked)):
        return value
    if isinstance(value, numbers.Number):  # kept a number so %d and %.2f work, unless it reads as a phone
        shown = str(value)
        masked = mask(shown)
        return value if masked == shown else masked
    return _Masked(value)


# Formatters of these loggers read record.args themselves (uvicorn's access log unpacks five of them).
_ARGS_READ_BY_FORMATTER = {"uvicorn.access"}


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record in place: message, each argument (so the record keeps its shape), exception and
    stack text. Personal data only visible once the arguments are put together (a name in one, the
    number in another) collapses the record into its masked message."""
    try:
        msg, args = record.msg, record.args
        record.msg = mask(msg) if isinstance(msg, str) else _mask_arg(msg)
        if isinstance(args, tuple):
            record.args = tuple(_mask_arg(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: _mask_arg(v) for k, v in args.items()}
        if record.args:
            try:
                whole = mask(str(msg) % args)
            except (TypeError, ValueError, KeyError):  # the caller's own format error
                whole = mask(f"{msg} {args!r}")
            try:
                shown = record.getMessage()
            except (TypeError, ValueError, KeyError):  # a number shown masked no longer fits its %d
                shown = None
            if shown is None or (shown != whole and record.name not in _ARGS_READ_BY_FORMATTER):
                record.msg, record.args = whole, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
    except Exception as exc:  # never let a record out unmasked, never break the caller's logging call
        record.msg, record.args = f"<log message withheld: masking failed ({type(exc).__name__})>", None
        record.exc_info = record.exc_text = record.stack_info = None
    return record


class MaskingFilter(logging.Filter):
    """A handler or logger filter that masks each record (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_install_lock = threading.Lock()


def install_log_masking() -> None:
    """Mask every log record of the process, from any logger and for any handler, now or added later.

    Records are masked where they are made (the log record factory), so a child logger's record is
    masked although logger filters are not inherited, and uvicorn's access log keeps its argument
    tuple. Root handlers also get a ``MaskingFilter``. Safe to call any number of times."""
    _words()  # a broken agent/data/privacy.yaml fails here, at start-up, not inside a log call
    with _install_lock:
        current = logging.getLogRecordFactory()
        if not getattr(current, "masks_personal_data", False):
            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return mask_record(current(*args, **kwargs))

            factory.masks_personal_data = True  # type: ignore[attr-defined]
            logging.setLogRecordFactory(factory)
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())
