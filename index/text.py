"""Chinese text normalisation and tokenisation shared by the index and the agent.

``normalize`` makes the same words look the same whatever the user typed:
Traditional -> Simplified, full-width -> half-width, Chinese numerals -> digits,
lower case. ``tokenize`` cuts normalised text into jieba words (search mode, so
long words also yield their parts) and drops stop words and punctuation."""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Iterable

# Words citizens wrap around every question; they say nothing about *which* service.
STOP_WORDS = frozenset("""
怎么 怎么样 怎样 如何 办理 办 要 需要 需 哪些 哪个 哪里 哪儿 什么 啥 咋 咋办 我想 我要 想 请问 问 问下 问一下 一下
你好 您好 谢谢 麻烦 可以 能 能不能 可不可以 是否 是不是 吗 呢 吧 啊 呀 了 的 地 得 着 过 和 与 及 或 或者 跟
我 我们 你 你们 他 她 它 他们 自己 这个 那个 这 那 个 些 有 有没有 没有 在 去 到 给 把 被 让 就 都 也 还 又 再 才
帮 帮忙 帮我 告诉 知道 一个 一 下 上 多少 多久 几 一般 现在 已经 刚 刚刚 应该 手续 流程 相关 事 事情 情况 请
""".split())

_T2S = None
_T2S_LOCK = threading.Lock()
# A run of Chinese numeral characters worth converting (at least one digit-like char).
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


def _t2s(text: str) -> str:
    global _T2S
    if _T2S is None:
        with _T2S_LOCK:
            if _T2S is None:
                from opencc import OpenCC
                _T2S = OpenCC("t2s")
    return _T2S.convert(text)


# Words where a numeral character is part of the word, not a number.
_KEEP_NUMERAL_WORDS = ("一件事", "一次", "一套", "一网", "一窗", "一张", "一件", "一起", "一并", "一律", "一致", "一般",
                       "一些", "一下", "一直", "统一", "万一", "唯一", "第一", "之一", "一同", "一样", "十分", "百分")


def _numerals(text: str) -> str:
    if not _CN_NUM.search(text):
        return text
    import cn2an

    def repl(m: re.Match) -> str:
        s = m.group(0)
        start, end = m.span()
        context = text[max(0, start - 2):end + 2]
        if any(w in context for w in _KEEP_NUMERAL_WORDS):
            return s
        if len(s) == 1 and s in "万亿百千":
            return s
        try:
            value = cn2an.cn2an(s, "smart")
        except (ValueError, KeyError, IndexError):
            return s
        return str(int(value)) if float(value).is_integer() else str(value)

    return _CN_NUM.sub(repl, text)


@functools.lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Simplified, half-width, Arabic-numeral, lower-case form of ``text``."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)  # full-width letters, digits and punctuation -> half-width
    text = _t2s(text)
    text = _numerals(text)
    return re.sub(r"\s+", " ", text).strip().lower()


_JIEBA = None
_JIEBA_LOCK = threading.Lock()
_USER_WORDS: set[str] = set()


def _jieba():
    global _JIEBA
    if _JIEBA is None:
        with _JIEBA_LOCK:
            if _JIEBA is None:
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                _JIEBA = tk
    return _JIEBA


def add_words(words: Iterable[str], freq: int = 2000) -> int:
    """Teach the tokenizer domain words (titles, aliases, material names, departments). Returns how many were new."""
    tk = _jieba()
    new = 0
    with _JIEBA_LOCK:
        for w in words:
            w = normalize(w)
            if len(w) < 2 or len(w) > 12 or w in _USER_WORDS or " " in w:
                continue
            _USER_WORDS.add(w)
            tk.add_word(w, freq)
            new += 1
    if new:
        _tokenize_cached.cache_clear()
    return new


def user_words() -> set[str]:
    return set(_USER_WORDS)


def word_share(word: str) -> float:
    """How common ``word`` is in everyday Chinese: its share of jieba's dictionary counts (add-one smoothed; the
    corpus words taught by ``add_words`` count as moderately common)."""
    tk = _jieba()
    return (tk.FREQ.get(word, 0) + 1) / tk.total


@functools.lru_cache(maxsize=8192)
def _tokenize_cached(text: str) -> tuple[str, ...]:
    tokens = []
    for tok in _jieba().cut_for_search(text, HMM=True):
        tok = tok.strip()
        if not tok or tok in STOP_WORDS or _PUNCT.match(tok):
            continue
        tokens.append(tok)
    return tuple(tokens)


def tokenize(text: str) -> list[str]:
    """Search tokens of ``text``: normalised jieba words without stop words or punctuation."""
    return list(_tokenize_cached(normalize(text)))
