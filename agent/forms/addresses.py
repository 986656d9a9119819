"""Addresses in a message: after a cue (住址是…, 户口落在…) or as a run of place words LAC tags."""
from __future__ import annotations

import re

from agent.forms.found import NOT_A_VALUE, Found, Span
from agent.forms.lexer import Token

_ADDRESS_CUE = re.compile(
    r"(?:家庭住址|居住地址|通讯地址|经营地址|注册地址|经营场所|住所|住址|地址|家住|住在|户口(?:要)?(?:落|上)?在|"
    r"落户(?:到|在|地址)?|落在|户籍(?:地)?在|位于|搬到)(?:是|为|在)?[：:\s]*"
)
_ADDRESS_TAIL = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9\-#()（）]+")
_ADDRESS_MARK = re.compile(r"[省市区县旗镇乡村路街巷道号楼室栋幢组]|街道|小区|社区|单元")
_ADDRESS_STOP = re.compile(r"(?:的话|吗|呢|吧|了|，|。|,|办理|申请|落户|上户口|出生|居住|工作|上班|需要|怎么|什么|哪)")
# Parts of speech that may continue a run of place words when they hold a number or an address mark (3|单元).
_PLACE_CONTINUE_TAGS = ("m", "q", "n", "nz", "s", "f")


def read_addresses(text: str, tokens: list[Token], found: Found) -> None:
    spans = _after_cues(text, tokens) + _place_runs(text, tokens)
    for a, b in _merge(spans):
        if not found.overlaps((a, b)):
            found.add("address", text[a:b], a, b)


def _after_cues(text: str, tokens: list[Token]) -> list[Span]:
    spans: list[Span] = []
    for m in _ADDRESS_CUE.finditer(text):
        tail = _ADDRESS_TAIL.match(text, m.end())
        if not tail:
            continue
        stop = _ADDRESS_STOP.search(text, tail.start(), tail.end())
        end = stop.start() if stop else tail.end()
        span = text[tail.start():end]
        explicit = bool(re.search(r"(?:是|为|[：:])\s*$", m.group(0)))
        has_place = any(t == "LOC" and tail.start() <= a < end for _, t, a, _ in tokens)
        if NOT_A_VALUE.search(span) or len(span) < 2:
            continue
        # after 地址：the user labelled it (kept even when too short, to be flagged);
        # after 住在/落户 only a real place name with an address marker counts
        if explicit or (has_place and _ADDRESS_MARK.search(span) and len(span) >= 5):
            spans.append((tail.start(), end))
    return spans


def _place_runs(text: str, tokens: list[Token]) -> list[Span]:
    """A run of place words from LAC: 济南市|历下区|泉城路8号|3|单元|201室."""
    spans: list[Span] = []
    i = 0
    while i < len(tokens):
        word, tag, a, b = tokens[i]
        if tag != "LOC":
            i += 1
            continue
        j, end, n_loc = i + 1, b, 1
        while j < len(tokens):
            w, t, _, e = tokens[j]
            if t == "LOC":
                n_loc += 1
            elif not (t in _PLACE_CONTINUE_TAGS and (re.search(r"\d", w) or _ADDRESS_MARK.search(w))):
                break
            end = e
            j += 1
        if _ADDRESS_MARK.search(text[a:end]) and (n_loc >= 2 or end - a >= 6 or j - i >= 2):
            spans.append((a, end))
        i = j
    return spans


def _merge(spans: list[Span]) -> list[Span]:
    spans = sorted(spans, key=lambda s: (s[0], -s[1]))
    merged: list[Span] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
