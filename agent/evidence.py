"""Evidence: the one sentence of the routed guide that answers a detail question (精准回答).

A question asking for one fact (多少天, 几级, 在哪, 能不能…) is often answered by a single sentence hidden in a
condition, a material's note, a step, a FAQ answer or a 情形 option note, while the composed answer shows other
sections. ``EvidenceFinder`` splits the guide into sentences, each with the section it cites, scores them against
the question (BM25 over the retriever's tokenizer, the dense embedder when given, and the question's focus cues
from ``data/evidence.yaml``), and returns the sentence only when it stands clearly above the rest. Nothing here
names a scenario or matter."""
from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.compose import SECTION_TITLES, time_line
from agent.zh.patterns import checked_pattern
from corpus.datafile import load_data_file
from index.text import normalize

if TYPE_CHECKING:
    from agent.normalize import Message
    from index.text import Tokenizer

log = logging.getLogger("daoban.agent")

DATA_FILE = Path(__file__).parent / "data" / "evidence.yaml"
FAQ_WHOLE = 120  # characters: a FAQ answer up to this long is one sentence
_SPLIT = re.compile(r"[。；;！!？?\n]+")
# a message's questions; a space between Chinese words is a break too (voice-to-text writes no comma)
_CLAUSE = re.compile(r"[。；;！!？?，,\n]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
MAX_LINES = 2        # evidence lines at most: a message rarely asks more than two details at once
CONTEXT_WEIGHT = 0.3  # a word from elsewhere in the message, next to one of the clause asked
# A word of the routed guide's title (低保 in 能否申请低保) says which guide, not which of its sentences: it counts as
# little as a word from elsewhere, so a material named after the service (最低生活保障申请书) does not outrank the
# sentence about what was asked.
TITLE_WEIGHT = CONTEXT_WEIGHT
_EPS = 1e-9           # scores are sums of floats: 1.5 - 1.3 must clear a margin of 0.2


class Cue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(min_length=1)
    asks: list[str] = Field(default_factory=list)  # patterns that ask with words between (能…吗: 能转租吗, 能补吗)
    holds: list[str] = Field(min_length=1)
    strict: bool = False

    @field_validator("holds", "asks")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        return [checked_pattern(p) for p in value]


class EvidenceWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cues: dict[str, Cue] = Field(min_length=1)
    broad: list[str] = Field(default_factory=list)
    everyday: dict[str, str] = Field(default_factory=dict)  # a word people say -> the guides' word (买家 -> 买方)

    @field_validator("everyday")
    @classmethod
    def _distinct(cls, value: dict[str, str]) -> dict[str, str]:
        for said, written in value.items():
            if not said or not written or said == written:
                raise ValueError(f"everyday word {said!r}: needs a different guide word, got {written!r}")
        return value

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "EvidenceWords":
        return load_data_file(path, cls)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a guide: what is shown, what else it is scored with (a FAQ's question, a 情形 title), and
    the section it cites (the composer's section names)."""

    text: str
    section: str
    context: str = ""
    guide: tuple[str, str] | None = None  # (id, title) of another guide of the bundle it is read from

    @property
    def line(self) -> str:
        """The sentence as the reply states it, with the section (and the bundled guide) it is read from."""
        head = SECTION_TITLES.get(self.section.split(":")[0], self.section)
        where = f"「{self.guide[1]}」的{head}" if self.guide else f"「{head}」"
        return f"{self.text.rstrip('，, ')}。（见{where}）"


@dataclass
class Evidence:
    """What the finder saw: the cues asked, whether this is a detail question, and the sentence (if one stands
    out), best first in ``ranked``."""

    cues: list[str] = field(default_factory=list)
    detail: bool = False
    best: Sentence | None = None
    more: list[Sentence] = field(default_factory=list)  # one sentence per further clause asking a detail
    ranked: list[tuple[float, Sentence]] = field(default_factory=list)

    @property
    def picked(self) -> list[Sentence]:
        return ([self.best] if self.best is not None else []) + self.more

    @property
    def line(self) -> str:
        """The first lines of the reply: each sentence and the section it is read from."""
        return "\n".join(s.line for s in self.picked)


def sentences_of(doc) -> list[Sentence]:
    """Every sentence of a scenario or matter guide, with its section; [] for FAQs and catalogue entries (their
    answer is already the whole document)."""
    if doc.kind not in ("scenario", "matter"):
        return []
    out: list[Sentence] = []

    def add(section: str, text: str | None, context: str = "", prefix: str = "") -> None:
        for part in _SPLIT.split(text or ""):
            part = part.strip(" ，,")
            if len(part) >= 3:  # 不收费 is a whole answer
                out.append(Sentence(prefix + part, section, context))

    if doc.kind == "scenario":
        add("summary", doc.summary)
        for x in doc.conditions:
            add("conditions", x)
        for m in doc.members:
            add("members", m.note, context=m.matter)
        for q in doc.questions:
            for o in q.options:
                add(f"situation:{q.id}", o.note, context=f"{q.text} {o.title}")
        _materials(add, doc.materials, "")
    else:
        multi = len(doc.situations) > 1
        for s in doc.situations:
            prefix = f"【{s.title}】" if multi else ""
            for x in s.conditions:
                add("conditions", x, s.title, prefix)
            _materials(add, s.materials, s.title, prefix)
            for x in s.steps:
                add("steps", x, s.title, prefix)
            add("time_limit", time_line(s.time_limit), s.title, prefix)
            add("fee", s.fee, s.title, prefix)
    for x in doc.steps:
        add("steps", x)
    add("time_limit", time_line(doc.time_limit))
    add("fee", doc.fee)
    for p in doc.places:
        add("places", f"{p.name}：{p.address}" + (f"（{p.hours}）" if p.hours else ""))
    for o in doc.online:
        add("online", o.name + (f"：{o.path}" if o.path else ""))
    for i, qa in enumerate(doc.faqs):  # an answer is one thought: kept whole unless long
        if len(qa.a) <= FAQ_WHOLE:
            out.append(Sentence(qa.a.strip().rstrip("。"), f"faq:{i}", qa.q))
        else:
            add(f"faq:{i}", qa.a, context=qa.q)
    return out


def _parts(word: str, known) -> list[str]:
    """The longest pieces (2 characters or more) of a word the guide does not use that it does use: the tokenizer
    keeps 转租给 and 身份证丢了 whole, the guide says 转租 and 身份证."""
    out: list[str] = []
    for n in range(len(word) - 1, 1, -1):
        for i in range(len(word) - n + 1):
            piece = word[i:i + n]
            if piece in known and not any(piece in o for o in out):
                out.append(piece)
    return out


def _materials(add: Callable, materials, context: str, prefix: str = "") -> None:
    for m in materials:
        add("materials", m.name + (f"：{m.notes}" if m.notes else ""), context, prefix)


@dataclass
class _Indexed:
    """A guide's sentences with their tokens, BM25 statistics and (when an embedder is given) vectors."""

    doc: object  # the document object indexed: an edited corpus brings new objects under the same id
    sentences: list[Sentence]
    tokens: list[Counter]
    idf: dict[str, float]
    avg_len: float
    vectors: np.ndarray | None = None


def _with_statistics(doc, sentences: list[Sentence], tokens: list[Counter], vectors: np.ndarray | None) -> _Indexed:
    """Sentences with their BM25 statistics (document frequency over these sentences, average length)."""
    df = Counter(t for tf in tokens for t in tf)
    n = len(sentences)
    idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
    avg = sum(sum(tf.values()) for tf in tokens) / n or 1.0
    return _Indexed(doc, sentences, tokens, idf, avg, vectors)


class EvidenceFinder:
    """The sentence of the routed guide that answers a detail question, or none.

    ``tokenizer`` is the retriever's (its dictionary knows the corpus words); ``embed`` (optional) is the
    retriever's embedder: sentence vectors are computed once per guide and kept (``cache_size`` guides)."""

    K1, B = 1.2, 0.75
    DENSE_WEIGHT = 0.5   # the dense similarity's share next to the term overlap (both scaled to 0..1)
    CUE_BONUS = 0.5      # a sentence shaped like the fact asked for (a day count for 多少天)
    STRICT_MISS = 0.3    # a sentence without the number a strict cue needs keeps this share of its score
    MARGIN = 0.2         # how far the best sentence must stand above the second
    FLOOR = 0.6          # and its least score

    def __init__(self, tokenizer: "Tokenizer", embed=None, words: EvidenceWords | None = None,
                 cache_size: int = 2048):  # every guide of the shipped corpus (1,457): about 18 MB
        self.tokenizer = tokenizer
        self.embed = embed
        self.words = words or EvidenceWords.load()
        self._holds = {name: [re.compile(p) for p in cue.holds] for name, cue in self.words.cues.items()}
        self._asks = {name: [re.compile(p) for p in cue.asks] for name, cue in self.words.cues.items()}
        self._cache: OrderedDict[tuple[str, str], _Indexed] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._everyday = sorted(self.words.everyday.items(), key=lambda kv: -len(kv[0]))  # longest first

    def cues(self, text: str) -> list[str]:
        """The focus cues ``text`` (normalised) asks with, in the data file's order."""
        return [name for name, cue in self.words.cues.items()
                if any(w in text for w in cue.words) or any(p.search(text) for p in self._asks[name])]

    def shaped(self, cue: str, text: str) -> bool:
        """Whether ``text`` looks like what ``cue`` asks for (a day count for 多少天)."""
        plain = normalize(text)
        return any(p.search(plain) for p in self._holds[cue])

    def is_detail(self, text: str, cues: list[str]) -> bool:
        """A detail question asks with a cue; a broad question (怎么办理) with only a loose cue (在哪) is not one,
        unless a clause of its own asks the detail: 老了怎么办 told in a story does not make 之前那8年还算不算 broad."""
        if not cues:
            return False
        if any(self.words.cues[c].strict for c in cues) or not self._broad(text):
            return True
        return any(self.cues(c) and not self._broad(c) for c in _CLAUSE.split(text))

    def _broad(self, text: str) -> bool:
        return any(w in text for w in self.words.broad)

    def everyday(self, text: str) -> str:
        """``text`` with the words people say read as the guides' words (买家 -> 买方, 租约 -> 租期), for ranking."""
        for said, written in self._everyday:
            text = text.replace(said, written)
        return text

    def run(self, doc, msg: "Message", bundle: list | tuple = ()) -> Evidence:
        """``bundle``: the guides bundled with ``doc`` (a 一件事's member matters, a matter's 一件事). Their
        sentences are searched when none of ``doc``'s own stands out: a 一件事 is its matters' process, so a
        detail of one step answers a question about the whole, and the other way round."""
        found = self._run(doc, msg, ())
        if found.detail and not found.picked and bundle:
            wider = self._run(doc, msg, tuple(bundle))
            if wider.picked:
                return wider
        return found

    def _run(self, doc, msg: "Message", bundle: tuple) -> Evidence:
        text = msg.text
        cues = self.cues(text)
        found = Evidence(cues=cues, detail=self.is_detail(text, cues))
        if not found.detail:
            return found
        indexed = self._indexed(doc, bundle)
        if indexed is None or not indexed.sentences:
            return found
        topic = self._topic(doc, indexed)
        found.ranked = self._rank(indexed, text, cues, topic=topic)
        if found.ranked and self._stands_out(found.ranked):
            found.best = found.ranked[0][1]
        found.more = self._per_clause(indexed, text, found.best, topic)
        if found.best is None and not found.more:
            pair = self._pair(found.ranked)
            if pair:
                found.best, found.more = pair[0], pair[1:]
        return found

    def _pair(self, ranked: list[tuple[float, Sentence]]) -> list[Sentence]:
        """Two sentences that stand out together, when neither does alone (清算组…60日内公告 next to 债权人公告45日):
        both are stated rather than neither."""
        distinct: list[tuple[float, Sentence]] = []
        for score, s in ranked:
            if all(s.text != x.text for _, x in distinct):
                distinct.append((score, s))
            if len(distinct) == 3:
                break
        if len(distinct) < 2 or distinct[1][0] < self.FLOOR - _EPS:
            return []
        third = distinct[2][0] if len(distinct) == 3 else 0.0
        return [s for _, s in distinct[:2]] if distinct[1][0] - third >= self.MARGIN - _EPS else []

    def holders(self, doc, msg: "Message", neighbours: list | tuple,
                context: str = "") -> dict[str | None, tuple[float, Sentence]]:
        """Each guide's best sentence for ``msg``, with its score, when ``doc``'s sentences and its ``neighbours``' are ranked
        together (one BM25 over all of them, so the scores compare): ``None`` is ``doc`` itself. A question without
        a detail cue (老的章怎么处理) is ranked on its words alone; ``context`` (what was said before) counts a little."""
        indexed = self._indexed(doc, tuple(neighbours))
        if indexed is None or not indexed.sentences:
            return {}
        best: dict[str | None, tuple[float, Sentence]] = {}
        for score, s in self._rank(indexed, msg.text, self.cues(msg.text), context=context):
            best.setdefault(s.guide[0] if s.guide else None, (score, s))
        return best

    def _per_clause(self, ix: _Indexed, text: str, best: Sentence | None,
                    topic: frozenset[str] = frozenset()) -> list[Sentence]:
        """A message asking two details (最长几年？要提前多久？): each clause's own sentence, when it stands out;
        the clauses that ask nothing count a little (they name the service)."""
        parts = _CLAUSE.split(text)
        clauses = [c for c in parts if self.cues(c)]
        if len(clauses) < 2:
            return []
        # the clauses that ask nothing name the service; another question's words would pull its answer in
        context = " ".join(c for c in parts if c not in clauses)
        more: list[Sentence] = []
        for clause in clauses[:MAX_LINES]:
            ranked = self._rank(ix, clause, self.cues(clause), context=context, topic=topic)
            # two sentences that stand out together (a FAQ's answer and a material's note saying the same) answer
            # the clause as well as one alone: its best is stated
            found = ranked[0][1] if ranked and (self._stands_out(ranked) or self._pair(ranked)) else None
            if found is not None and found not in (best, *more):
                more.append(found)
        return more[: MAX_LINES - (best is not None)]

    def _stands_out(self, ranked: list[tuple[float, Sentence]]) -> bool:
        best = ranked[0][0]
        second = next((s for s, x in ranked[1:] if x.text != ranked[0][1].text), 0.0)
        return best >= self.FLOOR - _EPS and best - second >= self.MARGIN - _EPS

    def _terms(self, text: str, ix: _Indexed) -> list[str]:
        """The words of ``text`` as the sentence index splits them (a word it does not hold, by its known parts)."""
        return [part for t in self.tokenizer.tokenize(text) for part in ([t] if t in ix.idf else _parts(t, ix.idf))]

    def _topic(self, doc, ix: _Indexed) -> frozenset[str]:
        """The words of ``doc``'s title, as the sentence index splits them."""
        return frozenset(self._terms(normalize(doc.title), ix))

    def _rank(self, ix: _Indexed, text: str, cues: list[str], context: str = "",
              topic: frozenset[str] = frozenset()) -> list[tuple[float, Sentence]]:
        query: dict[str, float] = {}
        for part in self._terms(self.everyday(text), ix):
            query[part] = TITLE_WEIGHT if part in topic else 1.0
        for part in self._terms(self.everyday(context), ix):
            query.setdefault(part, CONTEXT_WEIGHT)
        lexical = np.array([self._bm25(query, tf, ix) for tf in ix.tokens])
        if not lexical.max() > 0:
            return []  # no word of the question is in the guide: nothing to point at
        score = lexical / lexical.max()
        if ix.vectors is not None:
            q = np.asarray(self.embed.embed_query(text), dtype=np.float32)
            sims = ix.vectors @ (q / (np.linalg.norm(q) or 1.0))
            spread = sims.max() - sims.min()
            score = score + self.DENSE_WEIGHT * ((sims - sims.min()) / spread if spread > 0 else 0.0)
        for i, s in enumerate(ix.sentences):
            held = [c for c in cues if self.shaped(c, s.text)]
            score[i] += self.CUE_BONUS * len(held) / len(cues) if cues else 0.0
            strict = [c for c in cues if self.words.cues[c].strict]
            if strict and not any(c in held for c in strict):
                score[i] *= self.STRICT_MISS
        order = np.argsort(-score, kind="stable")
        return [(float(score[i]), ix.sentences[i]) for i in order]

    def _bm25(self, query: dict[str, float], tf: Counter, ix: _Indexed) -> float:
        length = sum(tf.values()) or 1
        norm = self.K1 * (1 - self.B + self.B * length / ix.avg_len)
        return sum(w * ix.idf[t] * tf[t] * (self.K1 + 1) / (tf[t] + norm) for t, w in query.items() if t in tf)

    def _indexed(self, doc, bundle: tuple = ()) -> _Indexed | None:
        """``doc``'s sentences, and its bundle's after them: each guide is tokenized and embedded once (and
        kept); a bundle reuses them and only counts its own statistics."""
        if bundle:
            parts = [(None, self._indexed(doc))] + [((b.id, b.title), self._indexed(b)) for b in bundle]
            parts = [(guide, ix) for guide, ix in parts if ix is not None]
            if not parts:
                return None
            vectors = [ix.vectors for _, ix in parts]
            return _with_statistics(doc, [replace(s, guide=guide) if guide else s
                                          for guide, ix in parts for s in ix.sentences],
                                    [tf for _, ix in parts for tf in ix.tokens],
                                    np.vstack(vectors) if all(v is not None for v in vectors) else None)
        key = (doc.kind, doc.id)
        with self._lock:
            if key in self._cache and self._cache[key].doc is doc:
                self._cache.move_to_end(key)
                return self._cache[key]
        sentences = sentences_of(doc)
        if not sentences:
            return None
        tokens = [Counter(self.tokenizer.tokenize(f"{s.text} {s.context}")) for s in sentences]
        ix = _with_statistics(doc, sentences, tokens, self._vectors(sentences))
        with self._lock:
            self._cache[key] = ix
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return ix

    def _vectors(self, sentences: list[Sentence]) -> np.ndarray | None:
        if self.embed is None:
            return None
        try:
            m = np.asarray(self.embed.embed_documents([normalize(f"{s.context} {s.text}") for s in sentences]),
                           dtype=np.float32)
        except Exception:  # noqa: BLE001 - the term overlap still ranks the sentences
            log.exception("evidence: sentence embedding failed")
            return None
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)


def warm_sentence_vectors(settings, report=None, progress: Callable[[str, int, int], None] | None = None) -> int:
    """Embed every scenario's and matter's sentences into the vector cache now (``daoban index build``, a start):
    a turn then reads them from disk instead of embedding a guide it meets first (about 1 s on a CPU). ``report``:
    the index build's (``BuildReport``); when its region versions are the ones last warmed, nothing is read (a
    start or an eval over an unchanged corpus pays nothing). Returns how many guides were read; 0 when sentence
    vectors are off or already warm."""
    if not settings.index.sentence_vectors:
        return 0
    from corpus.loader import load_corpus
    from index.embeddings import cached_embeddings, text_vectors_namespace
    from index.text import Tokenizer

    marker = Path(settings.index_dir) / "text-vectors.warmed"
    stamp = text_vectors_namespace(settings) + " " + " ".join(sorted(f"{r.region}:{r.version}" for r in report.regions)) \
        if report is not None else None
    if stamp is not None and marker.is_file() and marker.read_text(encoding="utf-8") == stamp:
        return 0
    guides = [d for d in load_corpus(settings.corpus_dir).documents() if d.kind in ("scenario", "matter")]
    finder = EvidenceFinder(Tokenizer(), embed=cached_embeddings(settings, for_build=True), cache_size=1)
    for i, doc in enumerate(guides, 1):
        finder._indexed(doc)
        if progress is not None:
            progress("sentence vectors", i, len(guides))
    if stamp is not None:
        marker.write_text(stamp, encoding="utf-8")
    return len(guides)
