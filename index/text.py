"""Chinese text normalisation and tokenisation shared by the index and the agent.

``normalize`` makes the same words look the same whatever the user typed:
Traditional -> Simplified, full-width -> half-width, Chinese numerals -> digits,
lower case. A ``Tokenizer`` cuts normalised text into jieba words (search mode, so
long words also yield their parts) and drops stop words and punctuation. Each
tokenizer has a jieba dictionary of its own: the corpus words its owner (the
retriever) teaches it stay with it, not with the process."""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Annotated, Iterable, Iterator

import cn2an
import jieba
from opencc import OpenCC
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from corpus.datafile import load_data_file

VOCABULARY_PATH = Path(__file__).parent / "data" / "text.yaml"


# One word: no spaces (a stray space or an empty entry would never match a jieba token).
Word = Annotated[str, StringConstraints(pattern=r"^\S+$")]


class TextVocabulary(BaseModel):
    """``index/data/text.yaml``."""

    model_config = ConfigDict(extra="forbid")

    # Words citizens wrap around every question; they say nothing about *which* service.
    stop_words: list[Word] = Field(min_length=1)
    # Words where a numeral character is part of the word, not a number.
    keep_numeral_words: list[Word] = Field(default_factory=list)


def load_vocabulary(path: Path | str = VOCABULARY_PATH, text: str | None = None) -> TextVocabulary:
    """The validated file; ``corpus.datafile.DataFileError`` names ``file:line`` of each problem."""
    return load_data_file(path, TextVocabulary, text)


@functools.cache
def text_version() -> str:
    """A hash of how text is read (the stop and numeral words): an index built under another reading is stale."""
    return hashlib.sha1(VOCABULARY_PATH.read_bytes()).hexdigest()[:12]


@functools.cache
def _shipped_vocabulary() -> TextVocabulary:
    return load_vocabulary()


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
                _T2S = OpenCC("t2s")
    return _T2S.convert(text)


def simplified(text: str) -> str:
    """``text`` in Simplified characters, nothing else changed."""
    return _t2s(text)


def _numerals(text: str) -> str:
    if not _CN_NUM.search(text):
        return text
    keep = _shipped_vocabulary().keep_numeral_words
    # the spans of the words whose numeral characters are part of the word (零售, 三证合一): left as written
    kept = [(m.start(), m.end()) for w in keep for m in re.finditer(re.escape(w), text)]

    def repl(m: re.Match) -> str:
        s = m.group(0)
        start, end = m.span()
        if any(a < end and start < b for a, b in kept):
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


class Tokenizer:
    """Search tokens of Chinese text: normalised jieba words without stop words or punctuation.

    Owned by the retriever, which teaches it the corpus words of the index it loads (``add_words``); whoever
    else tokenises for that index (the agent's normaliser, the focus step) is handed this one."""

    def __init__(self, vocabulary: TextVocabulary | None = None):
        self.stop_words = frozenset((vocabulary or _shipped_vocabulary()).stop_words)
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._lock = threading.Lock()
        self._user_words: set[str] = set()
        self._cached = functools.lru_cache(maxsize=8192)(self._tokenize)

    def add_words(self, words: Iterable[str], freq: int = 2000) -> int:
        """Teach the tokenizer domain words (titles, aliases, material names, departments). Returns how many
        were new."""
        new = 0
        with self._lock:
            for w in words:
                w = normalize(w)
                if len(w) < 2 or len(w) > 12 or w in self._user_words or " " in w:
                    continue
                self._user_words.add(w)
                self._jieba.add_word(w, freq)
                new += 1
        if new:
            self._cached.cache_clear()
        return new

    def user_words(self) -> set[str]:
        return set(self._user_words)

    def word_freq(self, word: str) -> int:
        """jieba's dictionary count of ``word`` (the taught words count ``add_words``'s ``freq``)."""
        return self._jieba.FREQ.get(word) or 0

    def word_share(self, word: str) -> float:
        """How common ``word`` is in everyday Chinese: its share of jieba's dictionary counts (add-one smoothed;
        the corpus words taught by ``add_words`` count as moderately common)."""
        return (self._jieba.FREQ.get(word, 0) + 1) / self._jieba.total

    def cut(self, text: str, hmm: bool = True) -> Iterator[str]:
        """jieba's plain cut of ``text`` as written (no normalising, stop words kept); ``hmm=False``: dictionary
        words only (unknown characters stay single, they are not guessed into new words)."""
        return self._jieba.cut(text, HMM=hmm)

    def tokenize(self, text: str) -> list[str]:
        """Search tokens of ``text``: normalised jieba words without stop words or punctuation."""
        return list(self._cached(normalize(text)))

    def _tokenize(self, text: str) -> tuple[str, ...]:
        tokens = []
        for tok in self._jieba.cut_for_search(text, HMM=True):
            tok = tok.strip()
            if not tok or tok in self.stop_words or _PUNCT.match(tok):
                continue
            tokens.append(tok)
        return tuple(tokens)


@functools.cache
def plain_tokenizer() -> Tokenizer:
    """A tokenizer with jieba's own dictionary, for code that has no retriever's (tests, the standalone guard).
    Never teach it words: that is what made the old process-wide dictionary grow."""
    return Tokenizer()
