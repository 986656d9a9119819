"""Verifier: LLM text may say only what the cited sources say. Every material, money amount, day count and phone
number in it must appear in them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.text import normalize

_MATERIAL_RE = re.compile(
    r"[\u4e00-\u9fa5A-Za-z（）()《》]{0,12}?(?:证明|证件|证书|登记表|申请表|申请书|协议书?|合同|执照|户口簿|户口本|身份证|结婚证|照片|发票|存折|银行卡|报告|承诺书|委托书|复印件)")
_MONEY_RE = re.compile(r"\d+(?:\.\d+)?\s*元")
_DAYS_RE = re.compile(r"(\d+)\s*(?:个)?(?:工作日|自然日|天|日|个月|小时)")
_PHONE_NUM_RE = re.compile(r"(?<!\d)(?:\d{3,4}-)?\d{5,11}(?!\d)")
_FREE_WORDS = ("不收费", "免费", "无需缴费", "不收取")
# Material words too generic to check (they are never a specific document).
_GENERIC_MATERIALS = {"证明", "证件", "材料", "复印件", "照片", "身份证明", "相关证明", "有效证件", "报告", "合同", "协议"}


@dataclass
class Verdict:
    ok: bool
    unsupported: list[str] = field(default_factory=list)


class Verifier:
    """Every material, fee, time limit and phone number in generated text must be in the cited sources, and no
    stretch of ``secret`` (the system prompt) may appear in it (an injection that worked)."""

    def __init__(self, secret: str = "", window: int = 12):
        self.secret = "".join(secret.split())
        self.window = window

    def run(self, text: str, sources: list[str]) -> Verdict:
        verdict = self._supported(text, sources)
        if self.leaks(text):
            verdict.ok = False
            verdict.unsupported.append("system prompt")
        return verdict

    def leaks(self, text: str) -> bool:
        """True when ``text`` repeats any stretch of the secret."""
        compact = "".join(text.split())
        w = self.window
        return any(self.secret[i:i + w] in compact for i in range(0, len(self.secret) - w + 1, 3))

    def _supported(self, text: str, sources: list[str]) -> Verdict:
        src = normalize("\n".join(sources))
        src_compact = re.sub(r"\s", "", src)
        body = normalize(text)
        bad: list[str] = []
        for m in _MATERIAL_RE.finditer(body):
            phrase = re.sub(r"^(?:需要|带上|带|提供|准备|提交|携带|及|和|与|或|以及|的|并|须|需|要)+", "", m.group(0))
            phrase = phrase.strip("（）()《》")
            if len(phrase) < 3 or phrase in _GENERIC_MATERIALS:
                continue
            if phrase in src_compact or _core_supported(phrase, src_compact):
                continue
            bad.append(phrase)
        for m in _MONEY_RE.finditer(body):
            if re.sub(r"\s", "", m.group(0)) not in src_compact:
                bad.append(m.group(0))
        if any(w in body for w in _FREE_WORDS) and not any(w in src for w in _FREE_WORDS):
            bad.append("免费")
        for m in _DAYS_RE.finditer(body):
            if not re.search(rf"(?<!\d){m.group(1)}(?!\d)", src):
                bad.append(m.group(0))
        for m in _PHONE_NUM_RE.finditer(body):
            num = m.group(0)
            if num not in src_compact and not _DAYS_RE.match(body[m.start():]):
                bad.append(num)
        return Verdict(ok=not bad, unsupported=bad)


def _core_supported(phrase: str, src: str) -> bool:
    """A material phrase is supported when its distinctive tail (the document's own name) is in the sources."""
    for n in range(min(len(phrase), 8), 3, -1):
        if phrase[-n:] in src:
            return True
    return False
