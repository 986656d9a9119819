"""Normalizer, the first stage: one message in, a ``Message`` out: bounded, read back from toneless pinyin and
English service words, normalised, tokenised, with the personal data and the aspects asked about noted."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from pydantic import RootModel

from agent.homophones import HomophoneReader
from agent.privacy import find_numbers
from agent.wording import Reworded, Wording
from agent.zh.jio import jionlp
from corpus.datafile import load_data_file
from index.text import Tokenizer, normalize, plain_tokenizer, simplified

DATA_DIR = Path(__file__).parent / "data"
# The API's limit: slot extraction reads all of a message (data may come anywhere); what is searched and classified
# is bounded apart (index.focus_chars).
MAX_MESSAGE_CHARS = 2000

_NAME_RE = re.compile(r"(?:我叫|我的名字是|名字叫|姓名[是为:：]?|叫做)\s*[\u4e00-\u9fa5]{2,4}")
# The label written before a personal value (身份证号370…, 电话139…, 他叫…); the numbers themselves are found by
# agent.privacy, in every form they are written in.
_PERSONAL_LABEL = re.compile(
    r"(?:(?:公民)?身份证(?:号码|号)?|证件号(?:码)?|(?:联系|手机)?电话(?:号码)?|手机(?:号码|号)?|(?:统一社会)?信用代码"
    # and the words that introduce a name (他叫…, 我的名字是…): left behind, 叫 alone reads as 姓名变更
    r"|[我他她俺]?(?:的)?(?:名字)?叫(?:做)?|(?:[我他她俺]的)?(?:名字|姓名))?"
    r"\s*[:：]?\s*(?:是|为)?\s*$")
_PERSONAL_KINDS = ("id", "mobile", "uscc")
# A message that may be only a name: its characters (a compound surname and two more), the marks around it.
_NAME_ONLY_CHARS = 4
_NAME_ONLY_STRIP = " \t\n，,。.！!～~"
_FIRST_CLAUSE = re.compile(r"[，,。\s]")
# Words a company's name ends with: only a message holding one is read for companies (LAC costs a few ms).
_COMPANY_WORD = re.compile(r"有限|公司|集团|合作社|事务所")
# a clause ends at a punctuation mark, or at a space between Chinese words (voice input): not between English ones
_CLAUSE = re.compile(r"[，,。！!？?；;、：:]+\s*|(?<=[\u4e00-\u9fa5])\s+(?=[\u4e00-\u9fa5])")
_PRONOUNS = "我你他她它俺咱们是叫的"
_WORD = re.compile(r"[\u4e00-\u9fa5A-Za-z]")


class AspectWords(RootModel[dict[str, list[str]]]):
    """``data/aspects.yaml``: answer section -> the words that ask about it (``whole``: the whole answer)."""


WHOLE = "whole"


class EnglishWords(RootModel[dict[str, str]]):
    """``data/english.yaml``: an English service word or phrase -> the Chinese the guides use."""


@dataclass
class Message:
    """A normalised user message and the personal data it carries."""

    raw: str                       # all of it: forms, receipts and safety checks read this
    text: str                      # the focus, normalised (simplified, half-width, Arabic numerals, lower case)
    tokens: list[str]
    has_personal_data: bool
    identifiers: bool = False      # an ID number, mobile or USCC in it: someone giving these wants to apply
    name_only: bool = False        # the message is a person's name and nothing else: a value given bare
    aspects: list[str] = field(default_factory=list)  # materials, time_limit, fee, places, online, ...
    search_text: str | None = None  # the focus without personal values: what retrieval searches ("" when the
                                    # message was personal values and nothing else)
    focused: str = ""              # raw in plain words (data/wording.yaml, homophones read), or for a long message
                                   # its sentences richest in service words
    switched: bool = False         # the message sets the topic so far aside (先不说这个了，…)

    def __post_init__(self) -> None:
        self.focused = self.focused or self.raw
        if self.search_text is None:
            self.search_text = self.focused


_LATIN = re.compile(r"[a-z]")


class PinyinReader:
    """Read a message typed in toneless pinyin (xinshenger chusheng yijianshi) back into Chinese.

    The vocabulary is the corpus's own words (titles, aliases, sample questions) plus the intent
    examples; the pinyin string is cut by longest match against their pinyin. Used only when a
    message is mostly Latin letters and most of it is read."""

    def __init__(self, texts_fn, tokenizer: Tokenizer | None = None):
        self._texts_fn = texts_fn
        self._tokenizer = tokenizer or plain_tokenizer()  # the retriever's: it knows the corpus words
        self._table: dict[str, str] | None = None
        self._max = 0
        self._lock = threading.Lock()

    def warm(self) -> None:
        with self._lock:
            if self._table is None:
                self._build()

    def _build(self) -> None:
        counts: dict[str, int] = {}
        for text in self._texts_fn():
            words = list(self._tokenizer.cut(text))
            if re.fullmatch(r"[\u4e00-\u9fa5]{2,10}", text):
                words.append(text)  # whole short titles and aliases read as one word
            for w in words:
                if re.fullmatch(r"[\u4e00-\u9fa5]{1,10}", w):
                    counts[w] = counts.get(w, 0) + 1
        table: dict[str, tuple[int, str]] = {}
        for w, n in counts.items():
            py = _pinyin_key(w)
            if py and (py not in table or table[py][0] < n):
                table[py] = (n, w)
        self._table = {k: v[1] for k, v in table.items()}
        self._freq = {k: v[0] for k, v in table.items()}
        self._max = max((len(k) for k in self._table), default=0)

    def sounds_known(self, word: str) -> bool:
        """``word`` (Chinese) sounds like a word of the corpus's vocabulary (身分证 -> 身份证, 公机金 -> 公积金)."""
        if not re.fullmatch(r"[\u4e00-\u9fa5]{2,10}", word):
            return False
        if self._table is None:
            self.warm()
        return _pinyin_key(word) in self._table

    @staticmethod
    def looks_like_pinyin(text: str) -> bool:
        letters = sum(1 for c in text if "a" <= c.lower() <= "z")
        others = sum(1 for c in text if not c.isspace() and not ("a" <= c.lower() <= "z") and not c.isdigit())
        return letters >= 4 and others <= letters * 0.2

    def _segment(self, chunk: str) -> tuple[list[str], int]:
        """Cut a pinyin run into known words: fewest unread letters, then fewest words (dynamic programming)."""
        n = len(chunk)
        # (unread letters, words, -frequency of the words): fewer unread, then fewer words, then commoner words
        best: list[tuple[int, int, int, int, str | None]] = [(0, 0, 0, -1, None)] + [(n + 1, n + 1, 0, -1, None)] * n
        for i in range(n):
            unread, count, freq, _, _ = best[i]
            if (unread + 1, count, freq) < best[i + 1][:3]:
                best[i + 1] = (unread + 1, count, freq, i, None)
            for j in range(i + 2, min(n, i + self._max) + 1):
                key = chunk[i:j]
                w = self._table.get(key)
                if w and (unread, count + 1, freq - self._freq[key]) < best[j][:3]:
                    best[j] = (unread, count + 1, freq - self._freq[key], i, w)
        words, j = [], n
        while j > 0:
            _, _, _, i, w = best[j]
            if w:
                words.append(w)
            j = i
        return words[::-1], n - best[n][0]

    def read(self, text: str) -> str | None:
        if not self.looks_like_pinyin(text):
            return None
        if self._table is None:
            self.warm()
        out, read_chars, total = [], 0, 0
        # Syllables may be typed apart (ling huo jiu ye): read runs of Latin letters as one string.
        joined = re.sub(r"(?<=[a-z])\s+(?=[a-z])", "", text.lower())
        for chunk in re.findall(r"[a-z]+|[^a-z\s]+", joined):
            if not _LATIN.match(chunk):
                out.append(chunk)
                continue
            total += len(chunk)
            words, n_read = self._segment(chunk)
            out.extend(words)
            read_chars += n_read
        if total == 0 or read_chars < 0.7 * total:
            return None  # English, or pinyin we cannot read: leave the message as it is
        return "".join(out)


def _pinyin_key(word: str) -> str:
    """A word's toneless pinyin (身份证 -> shenfenzheng): homophones share it."""
    return "".join(re.sub(r"\d", "", x) for x in jionlp().pinyin(word, formater="simple"))


def _has_word(text: str, word: str) -> bool:
    """Chinese words match anywhere; a Latin word only whole (the 「app」 of 爱山东APP is not the 「app」 of apply)."""
    if not word.isascii():
        return word in text
    return re.search(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])", text) is not None


class EnglishTerms:
    """Read the English service words of a message as the Chinese the guides use (``data/english.yaml``):
    「怎么check我的housing fund余额」 → 「怎么check我的住房公积金余额」. Whole words, longest phrase first."""

    def __init__(self, terms: dict[str, str] | None = None):
        if terms is None:
            terms = load_data_file(DATA_DIR / "english.yaml", EnglishWords).root
        self.terms = {k.lower(): v for k, v in terms.items()}
        words = sorted(self.terms, key=len, reverse=True)
        self._re = re.compile(r"(?<![A-Za-z])(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
                              + r")(?![A-Za-z])", re.IGNORECASE) if words else None

    def run(self, text: str) -> str:
        if self._re is None or not re.search(r"[A-Za-z]{2}", text):
            return text
        return self._re.sub(lambda m: self.terms[" ".join(m.group(0).lower().split())], text)


def _without_values(raw: str, spans: list[tuple[int, int]]) -> str:
    """``raw`` without its personal values and their labels: a value names no service, and a long one
    drowns the words that do when the message is searched."""
    out = raw
    for start, end in reversed(_merged(spans)):
        start = _PERSONAL_LABEL.search(out, 0, start).start()
        out = out[:start] + " " + out[end:]
    return out.strip()


def _undashed(raw: str, spans: list[tuple[int, int]]) -> str:
    """``raw`` with the dashes inside its personal numbers as spaces: 370303-1997-0819-2811 is an ID number
    written in groups, and read with its dashes it looks like a 受理编号 to the intent classifier."""
    out = list(raw)
    for a, b in spans:
        out[a:b] = raw[a:b].replace("-", " ")
    return "".join(out)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class Normalizer:
    """Bound the length, normalise, tokenise; note personal data and the aspects asked about."""

    def __init__(self, aspects: dict[str, list[str]] | None = None, pinyin: PinyinReader | None = None,
                 english: EnglishTerms | None = None, focus: Callable[[str], str] | None = None,
                 tokenizer: Tokenizer | None = None, wording: Wording | None = None,
                 homophones: HomophoneReader | None = None,
                 names: Callable[[str], list[tuple[int, int]]] | None = None,
                 companies: Callable[[str], list[tuple[int, int]]] | None = None,
                 people: Callable[[str], bool] | None = None, cache_size: int = 2048):
        self.pinyin = pinyin
        self.wording = wording if wording is not None else Wording()
        self.homophones = homophones  # built from the corpus by its owner; None: homophones stay as written
        self.names = names  # where people's names are (the form filler's reader); None: names stay in the search
        self.companies = companies  # where companies' names are (the same reader); None: they stay in the search
        # Whether a word only says who a person is (孙子, 网格员, 电话): a clause of such words alone (我是她孙子,
        # 孩子叫…) is left out of the search. None: every clause is searched.
        self.people = people
        self.tokenizer = tokenizer or plain_tokenizer()  # the retriever's: its dictionary knows the corpus words
        # Bounds what is searched, tokenised and classified (the retriever's ``focus``); None: the whole message.
        self.focus = focus or (lambda text: text)
        self.english = english if english is not None else EnglishTerms()
        if aspects is None:
            aspects = load_data_file(DATA_DIR / "aspects.yaml", AspectWords).root
        # ``whole`` is no section: its words ask for the whole answer, and no aspect is then noted
        self.whole = [w.lower() for w in aspects.get(WHOLE, [])]
        self.aspects = {k: [w.lower() for w in v] for k, v in aspects.items() if k != WHOLE}
        self.aspect_words = {w for ws in self.aspects.values() for w in ws}
        # Each turn reads the session's earlier messages again (情形 answers, form values): their Messages are
        # kept, about a fifth of a turn's CPU. Never one with personal data: it must not outlive its session.
        self._seen: OrderedDict[str, Message] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._seen_size = cache_size

    def run(self, message: str) -> Message:
        with self._seen_lock:
            msg = self._seen.get(message)
            if msg is not None:
                self._seen.move_to_end(message)
        if msg is None:
            msg = self._run(message)
            if not msg.has_personal_data and self._seen_size:
                with self._seen_lock:
                    self._seen[message] = msg
                    if len(self._seen) > self._seen_size:
                        self._seen.popitem(last=False)
        # a copy: callers own their Message
        return replace(msg, tokens=list(msg.tokens), aspects=list(msg.aspects))

    def _run(self, message: str) -> Message:
        raw = (message or "").strip()[:MAX_MESSAGE_CHARS]
        if self.pinyin is not None and (read := self.pinyin.read(raw)):
            raw = read
        raw = self.english.run(raw)
        numbers = [(f.start, f.end) for f in find_numbers(raw) if f.kind in _PERSONAL_KINDS]
        plain = self.plain(_undashed(raw, numbers))
        focused = self.focus(plain.text)
        text = normalize(focused)
        name_only = self._name_only(raw)
        personal = bool(numbers or name_only or _NAME_RE.search(raw) or self._name_first(raw))
        aspects = [] if any(_has_word(text, w) for w in self.whole) else \
            [k for k, words in self.aspects.items() if any(_has_word(text, w) for w in words)]
        # names are only read when values are there (LAC costs a few ms)
        values = numbers + (self.names(raw) if personal and self.names is not None else [])
        # a company's name is a value too (公司叫青岛海润物流有限公司: 物流 asks for nothing)
        values += self.companies(raw) if self.companies is not None and _COMPANY_WORD.search(raw) else []
        search_text = self.focus(self.plain(_without_values(raw, values)).text) if values or personal else focused
        search_text = self._without_introductions(search_text)
        if (values or personal) and not _WORD.search(search_text):
            search_text = ""  # 我叫X 身份证… 电话…: nothing to search, not the values and their labels
        elif not search_text:
            search_text = focused
        return Message(raw=raw, text=text, tokens=self.tokenizer.tokenize(search_text), has_personal_data=personal,
                       identifiers=bool(numbers), name_only=name_only,
                       aspects=aspects, search_text=search_text, focused=focused, switched=plain.switched)

    def _without_introductions(self, text: str) -> str:
        """``text`` without its clauses that only say who the people are (我是她孙子, 孩子叫…, 电话留我的): they
        name no service, yet as words they pull retrieval to the guides about those people (孙子 to 入学 and 出生
        登记). Kept when nothing else is left."""
        if self.people is None or not text:
            return text
        clauses = _CLAUSE.split(text)
        kept = [c for c in clauses if not self._introduces(c)]
        if len(kept) == len(clauses) or not any(c.strip() for c in kept):
            return text
        return "，".join(c for c in kept if c.strip())

    def _introduces(self, clause: str) -> bool:
        tokens = [t.strip(_PRONOUNS) for t in self.tokenizer.tokenize(clause)]  # 他妈, 我是: without who and 是
        return any(self.people(t) for t in tokens if t) \
            and all(self.people(t) for t in tokens if len(t) >= 2 and not t.isdigit())

    def _name_only(self, raw: str) -> bool:
        """The whole message is one person's name (裴一帆): a short message, read by the form filler's reader."""
        bare = raw.strip(_NAME_ONLY_STRIP)
        if self.names is None or not 2 <= len(bare) <= _NAME_ONLY_CHARS:
            return False
        at = raw.index(bare)
        return (at, at + len(bare)) in self.names(raw)

    def _name_first(self, raw: str) -> bool:
        """The message opens with a person's name alone, then a comma or a space (柳春华，想把这些手续都弄好)."""
        head = _FIRST_CLAUSE.split(raw.strip(), maxsplit=1)
        return len(head) == 2 and bool(head[1].strip()) and self._name_only(head[0])

    def plain(self, text: str) -> Reworded:
        """``text`` as the guides would word it: dialect, filler, an operator's note and a switch cue read
        (data/wording.yaml), homophones of service words read as the words (社宝卡 -> 社保卡). Raw stays as written:
        forms and the safety checks read what the user typed."""
        reworded = self.wording.run(simplified(text))
        if self.homophones is None or not reworded.text:
            return reworded if reworded.text else Reworded(text)
        return Reworded(self.homophones.read(reworded.text), reworded.switched)

    def topic_tokens(self, msg: Message) -> list[str]:
        """Tokens that name a topic: not aspect words (材料, 多久…), not a lone character, not a number."""
        out = []
        for t in msg.tokens:
            if len(t) < 2 or t.isdigit() or t in self.aspect_words:
                continue
            if any(t in w for w in self.aspect_words if len(t) >= 2 and len(w) > len(t)) and len(t) <= 2:
                continue
            out.append(t)
        # jieba's search mode also yields the parts of a long word (公积, 积金 of 公积金): keep the word
        return [t for t in out if not any(t != o and t in o for o in out)]
