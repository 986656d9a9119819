"""Bound what a long message costs to search and to classify: keep its sentences densest in service words.

Embedding a 2,000-character message took 2.3-2.9 s on one thread (a normal turn: 30 ms), and every other user's
query waited for the embedder meanwhile. ``focus`` returns at most ``max_chars`` characters of a message: its
pieces (sentences; a long sentence cut at its commas; unpunctuated voice text cut into overlapping windows) ranked
by the weight of service words per character, the best kept in their original order. A message within the limit
comes back unchanged, so short turns behave exactly as before.

The weight of a word is ``keyness``: how much more often the index's question-like units (titles, aliases, sample
questions, 情形) use it than everyday Chinese does. Plain IDF would not do: everyday words (闺女, 超市, 电视剧) are
rare in the guides, so their IDF is high."""
from __future__ import annotations

import math
import re
from typing import Callable, Iterable

from index.text import plain_tokenizer

_SENTENCE = re.compile(r"[^。！？!?；;…\n\s]+[。！？!?；;…\n\s]*")
_CLAUSE = re.compile(r"[^，,、：:]+[，,、：:]*")
_VOICE_WINDOW = 24   # unpunctuated speech: short windows, so a question is not drowned by its neighbours
_MIN_PIECE = 8        # a shorter piece ("带什么？") belongs to the sentence before it
_KEEP_RATIO = 0.5     # a piece less than half as dense as the best is noise, even when there is room for it


def focus(text: str, max_chars: int, weight: Callable[[str], float], sentence_chars: int = 60,
          tokenize: Callable[[str], list[str]] | None = None) -> str:
    """At most ``max_chars`` characters of ``text``: the pieces with the most ``weight(word)`` per character (0 for
    a word the index does not use), each said once, in their original order, joined by spaces. A sentence longer
    than ``sentence_chars`` is cut at its commas. ``tokenize``: the index's (its retriever's tokenizer); jieba's
    own dictionary without one."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    tokenize = tokenize or plain_tokenizer().tokenize
    spans = _pieces(text, min(sentence_chars, max_chars))
    density = [sum(weight(t) for t in set(tokenize(text[a:b]))) / (b - a) for a, b in spans]
    best = max(density, default=0.0)
    if best <= 0:
        return text[-max_chars:]  # no service word at all: the question usually comes last
    kept: list[tuple[int, int]] = []
    used = 0
    seen: set[str] = set()
    for i in sorted(range(len(spans)), key=lambda i: (-density[i], i)):
        if density[i] < best * _KEEP_RATIO:
            break
        a, b = spans[i]
        if text[a:b].strip() in seen:  # said again, it adds nothing to search on
            continue
        seen.add(text[a:b].strip())
        # overlapping windows share characters: count what this piece adds, and a joining space
        extra = sum(1 for x in range(a, b) if not any(ka <= x < kb for ka, kb in kept))
        if used + extra + len(kept) <= max_chars:
            kept.append((a, b))
            used += extra
    return " ".join(text[a:b].strip() for a, b in _merge(sorted(kept)))


def keyness(df: dict[str, int], n: int, word_share: Callable[[str], float]) -> dict[str, float]:
    """Weight of each word the ``n`` units use (``df``: in how many): log of how much more often they use it than
    everyday Chinese does (``word_share``: the index tokenizer's); words no more common there than anywhere weigh
    nothing."""
    out = {}
    for word, count in df.items():
        if len(word) < 2 or word.isdigit():
            continue
        k = math.log((count + 0.5) / n) - math.log(word_share(word))
        if k > 0:
            out[word] = k
    return out


def unit_df(token_lists: Iterable[Iterable[str]]) -> tuple[dict[str, int], int]:
    """(document frequency of each token, number of units)."""
    df: dict[str, int] = {}
    n = 0
    for tokens in token_lists:
        n += 1
        for t in set(tokens):
            df[t] = df.get(t, 0) + 1
    return df, n


def _pieces(text: str, window: int) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text``; a sentence longer than ``window`` is cut at its commas, and a
    clause still longer (speech typed without punctuation) into short windows that overlap by half, so that a
    word cut by one window is whole in the next; a piece too short to say anything joins the one before it."""
    spans: list[tuple[int, int]] = []
    for s in _SENTENCE.finditer(text):
        clauses = [(s.start() + c.start(), s.start() + c.end()) for c in _CLAUSE.finditer(s.group())] \
            if s.end() - s.start() > window else [s.span()]
        for a, b in clauses:
            if b - a <= window:
                spans.append((a, b))
                continue
            step = _VOICE_WINDOW // 2
            spans.extend((x, min(x + _VOICE_WINDOW, b)) for x in range(a, max(a + 1, b - step), step))
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and b - a < _MIN_PIECE and merged[-1][1] == a and b - merged[-1][0] <= window:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out
