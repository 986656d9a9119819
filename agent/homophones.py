"""Read homophones of service words back as the words the guides use: voice-to-text and pinyin typing write
社宝卡 for 社保卡, 公机金 for 公积金, 户口部 for 户口簿, 营业执找 for 营业执照.

``HomophoneReader`` holds the toneless pinyin of every service word it is given (titles, aliases, the index's
taught words, words the index weighs as service words), built once from the corpus. A span of a message whose
pinyin is a known word's, but whose characters differ, is read as that word. Guards against false hits:

- the span must sit on word boundaries of the message (出生正常 holds 出生正, but 正 belongs to 正常);
- most of its characters must already be the word's (a homophone typo changes one or two characters, it does not
  write a different word that merely sounds alike);
- the span must not be a word in its own right (a corpus or dictionary word: 段时间 is not 短时间);
- a changed character must not be a common word of its own when it could just stand next to the word: at the
  edge of the span, or anywhere in a short one (户口不迁 is not 户口簿, 去住建局 not 区住建局);
- two-character words (社保) come only from titles and aliases and match only with their tones; three with the
  exact toneless syllables; four and more also through the usual accent mergers (zh/z, ch/c, sh/s, n/l, -ng/-n:
  新身儿出生 is 新生儿出生).

Traditional characters are compared in their simplified form: 戶口 is 户口, not a homophone of it."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

from pypinyin import Style, lazy_pinyin

from index.text import Tokenizer, normalize, plain_tokenizer, simplified

_HAN = re.compile(r"[\u4e00-\u9fa5]+")
_WORD = re.compile(r"[\u4e00-\u9fa5]{2,10}")
MAX_WORD = 10
# jieba's count of a character above which, alone, it is a common word (不 360k, 去 123k, 个 125k; 正 38k, 部 14k)
COMMON_CHAR_FREQ = 50_000


def _fuzzy(syllable: str) -> str:
    """A syllable with the common accent mergers applied (southern and voice-to-text confusions)."""
    s = re.sub(r"^([zcs])h", r"\1", syllable)
    s = re.sub(r"^l(?=[aeiou])", "n", s)
    return re.sub(r"(?<=[aeiu])ng$", "n", s) if not s.endswith("ong") else s


@dataclass(frozen=True)
class Reading:
    """One replacement: ``text[start:end]`` read as ``word``."""

    start: int
    end: int
    word: str


class HomophoneReader:
    """Service words by their pinyin, and the reading of a message's homophones as those words."""

    def __init__(self, words_fn: Callable[[], Iterable[str]], names_fn: Callable[[], Iterable[str]] | None = None,
                 tokenizer: Tokenizer | None = None):
        """``words_fn``: service words (titles, aliases, the index's words); ``names_fn``: titles and aliases: a
        two-character service word (社保, 医保) is matched only when they use it."""
        self._words_fn = words_fn
        self._names_fn = names_fn or words_fn
        self._tokenizer = tokenizer or plain_tokenizer()
        self._lock = threading.Lock()
        self._words: set[str] | None = None
        self._fuzzy: dict[tuple[str, ...], list[str]] = {}      # 3 and more: syllables with accent mergers
        self._toned: dict[tuple[str, ...], list[str]] = {}      # 2 characters: with tones

    def warm(self) -> None:
        with self._lock:
            if self._words is None:
                self._build()

    def _build(self) -> None:
        names = [normalize(x) for x in self._names_fn()]
        # a word guessed by jieba's HMM from a sample question's typo (注测个) is no service word
        known = {w for w in (normalize(x) for x in self._words_fn())
                 if _WORD.fullmatch(w) and (self._tokenizer.word_freq(w) or w in names)}
        words = {w for w in known if len(w) >= 3} | {w for w in names if _WORD.fullmatch(w)}
        words |= {w for x in names for w in self._tokenizer.tokenize(x) if len(w) == 2 and w in known}
        for w in sorted(words):
            if len(w) == 2:
                self._toned.setdefault(tuple(lazy_pinyin(w, style=Style.TONE3)), []).append(w)
            else:
                self._fuzzy.setdefault(tuple(_fuzzy(s) for s in lazy_pinyin(w)), []).append(w)
        self._words = words

    def read(self, text: str) -> str:
        """``text`` with its homophones of service words replaced by the words."""
        readings = self.readings(text)
        for r in reversed(readings):
            text = text[:r.start] + r.word + text[r.end:]
        return text

    def readings(self, text: str) -> list[Reading]:
        if self._words is None:
            self.warm()
        out: list[Reading] = []
        for run in _HAN.finditer(text):
            out.extend(Reading(run.start() + r.start, run.start() + r.end, r.word) for r in self._run(run.group()))
        return out

    def _run(self, run: str) -> list[Reading]:
        """Readings in one run of Chinese characters: longest first, left to right, not overlapping."""
        if len(run) < 2:
            return []
        simple = simplified(run)
        run = simple if len(simple) == len(run) else run
        plain = lazy_pinyin(run)
        toned = lazy_pinyin(run, style=Style.TONE3)
        bounds = self._boundaries(run)
        out: list[Reading] = []
        i = 0
        while i < len(run) - 1:
            hit = next((r for n in range(min(MAX_WORD, len(run) - i), 1, -1)
                        if (r := self._match(run, i, i + n, plain, toned, bounds)) is not None), None)
            if hit is None:
                i += 1
                continue
            out.append(hit)
            i = hit.end
        return out

    def _match(self, run: str, a: int, b: int, plain: list[str], toned: list[str], bounds: set[int]) -> Reading | None:
        if a not in bounds or b not in bounds:
            return None
        span, n = run[a:b], b - a
        if span in self._words or self._tokenizer.word_freq(span):
            return None  # a word of its own (一包 is not 医保)
        if n == 2:
            candidates = self._toned.get(tuple(toned[a:b]), [])
        else:
            candidates = self._fuzzy.get(tuple(_fuzzy(s) for s in plain[a:b]), [])
        if n == 3:  # three characters: the exact syllables (办公司 is not 办公室)
            candidates = [w for w in candidates if lazy_pinyin(w) == plain[a:b]]
        need = 1 if n == 2 else 2 if n == 3 else (n + 1) // 2
        # most characters in common, then the exact syllables (prefer what was written, then what was said)
        best = max(((sum(x == y for x, y in zip(w, span)), lazy_pinyin(w) == plain[a:b], w) for w in candidates),
                   default=(0, False, ""))
        if best[0] < need or best[0] == n:
            return None
        if any(x != y and (n <= 3 or i in (0, n - 1)) and self._tokenizer.word_freq(y) > COMMON_CHAR_FREQ
               for i, (x, y) in enumerate(zip(best[2], span))):
            return None  # a common word next to a service word, not a misheard part of it
        return Reading(a, b, best[2])

    def _boundaries(self, run: str) -> set[int]:
        """Positions between the words of ``run`` in a plain (dictionary only) cut."""
        bounds, pos = {0}, 0
        for w in self._tokenizer.cut(run, hmm=False):
            pos += len(w)
            bounds.add(pos)
        return bounds
