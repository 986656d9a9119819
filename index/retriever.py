"""Hybrid retriever: BM25 over jieba tokens + dense vectors in Chroma, fused per document, with a calibrated score."""
from __future__ import annotations

import functools
import json
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

import bm25s
import numpy as np

from index import store
from index.embeddings import cached_embeddings, embedding_id, get_embeddings
from index.focus import focus, keyness, unit_df
from index.rerank import llm_judge_from_settings
from index.text import Tokenizer, normalize
from index.types import Hit, SearchFilters, SectionHit
from index.units import SPARSE_ONLY, is_vocabulary

if TYPE_CHECKING:
    from daoban.settings import Settings

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "sparse", "dense"]
LLMJudge = Callable[[str, str], float]  # (query, document text) -> probability the document answers the query

CANDIDATES = 100   # units taken from the BM25 ranking before aggregating to documents
DENSE_CANDIDATES = 50  # units taken from Chroma (its query time grows with n_results)
FEATURES = ["coverage", "dense_cos", "sparse_rr", "dense_rr", "agree", "fusion"]
# The fusion's evidence for one candidate. Each side is read relative to its own list (BM25 score over the
# best, cosine placed between the list's floor and top) and weighted by how sure that list is of its first
# answer (its margin over the second): plain RRF ranks treat a confident and a clueless list alike.
FUSION_FEATURES = ["sparse_rel", "dense_rel", "sparse_rr", "dense_rr", "coverage", "dense_cos",
                   "sparse_conf", "dense_conf", "agree"]
_FX = {name: i for i, name in enumerate(FUSION_FEATURES)}  # the calibration reads its features by name from these

# Used until a build has fitted calibration.json (see index/calibrate.py): leans on lexical coverage.
DEFAULT_CALIBRATION = {
    "features": FEATURES,
    "mean": [0.5, 0.85, 0.3, 0.3, 0.3, 0.0], "std": [0.3, 0.04, 0.3, 0.3, 0.4, 1.0],
    "weights": [2.5, 1.2, 0.4, 0.4, 0.6, 0.0], "bias": -0.6,
}


@dataclass
class RegionIndex:
    region: str
    version: str
    collection: object
    bm25: object
    units: list[dict]
    doc_ids: np.ndarray
    kinds: np.ndarray
    regions: np.ndarray
    aud_person: np.ndarray
    aud_legal: np.ndarray
    df: dict[str, int]
    n: int
    uid_row: dict[str, int] = field(default_factory=dict)

    @functools.lru_cache(maxsize=64)
    def mask(self, region: str | None, audience: str | None, kinds: tuple[str, ...] | None) -> np.ndarray | None:
        m = np.ones(len(self.units), dtype=bool)
        if region:
            uniq = {r for r in self.regions.tolist()}
            ok = {r for r in uniq if r.startswith(region) or region.startswith(r)}
            m &= np.isin(self.regions, list(ok))
        if audience == "个人":
            m &= self.aud_person
        elif audience == "法人":
            m &= self.aud_legal
        if kinds:
            m &= np.isin(self.kinds, list(kinds))
        return None if m.all() else m

    def __hash__(self) -> int:  # lru_cache on a method needs a hashable self
        return id(self)


@dataclass
class _Cand:
    doc_id: str
    ri: int                      # region index position
    sparse_rank: int | None = None
    dense_rank: int | None = None
    sparse_score: float | None = None
    dense_cos: float | None = None
    units: dict = field(default_factory=dict)   # row -> (source, unit score)
    fused: float = 0.0
    fx: list[float] = field(default_factory=list)   # FUSION_FEATURES
    z: float = 0.0                                   # the fitted fusion's score (0 when none is fitted)
    coverage: float = 0.0
    score: float = 0.0
    index: RegionIndex | None = None


class HybridRetriever:
    def __init__(self, settings: "Settings", embeddings=None, client=None, llm_judge: LLMJudge | None = None):
        self.settings = settings
        self._embeddings = embeddings
        self._text_embeddings = None
        self._client = client
        self.llm_judge = llm_judge
        self._lock = threading.RLock()
        self._regions: list[RegionIndex] = []
        self._calibration = DEFAULT_CALIBRATION
        self._fusion: dict | None = None
        self._loaded_pointer: dict | None = None
        self._weights: dict[str, float] = {}
        self.tokenizer = Tokenizer()  # its dictionary learns the words of the index this retriever loads
        self._focused = functools.lru_cache(maxsize=512)(self._focus)
        self.reload()

    @classmethod
    def from_settings(cls, settings: "Settings", llm_judge: LLMJudge | None = None) -> "HybridRetriever":
        return cls(settings, llm_judge=llm_judge)

    # --- loading -------------------------------------------------------------------------------
    @property
    def embeddings(self):
        if self._embeddings is None:
            self._embeddings = get_embeddings(self.settings)
        return self._embeddings

    @property
    def text_embeddings(self):
        """The same embedder behind the disk cache of text vectors (a guide's sentences for the evidence finder)."""
        if self._text_embeddings is None:
            self._text_embeddings = cached_embeddings(self.settings, self.embeddings)
        return self._text_embeddings

    @property
    def client(self):
        if self._client is None:
            self._client = store.chroma_client(self.settings)
        return self._client

    @property
    def ready(self) -> bool:
        return bool(self._regions)

    @property
    def regions(self) -> list[str]:
        return [r.region for r in self._regions]

    def reload(self) -> None:
        """Load the versions named by the pointer file (call after a rebuild)."""
        index_dir = Path(self.settings.index_dir)
        pointer = store.read_pointer(index_dir)
        loaded: list[RegionIndex] = []
        want_emb = embedding_id(self.settings)
        for region, entry in sorted(pointer.get("regions", {}).items()):
            if entry.get("embedding_id") != want_emb:
                raise RuntimeError(f"the index of {region} was built with embeddings {entry.get('embedding_id')!r} "
                                   f"but settings use {want_emb!r}; run `daoban index build` again")
            vdir = index_dir / entry["dir"]
            with (vdir / "units.jsonl").open(encoding="utf-8") as f:
                units = [json.loads(line) for line in f if line.strip()]
            stats = json.loads((vdir / "stats.json").read_text(encoding="utf-8"))
            words = (vdir / "userdict.txt").read_text(encoding="utf-8").split("\n")
            self.tokenizer.add_words(words)
            bm25 = bm25s.BM25.load(str(vdir / "bm25"), show_progress=False)
            col = self.client.get_collection(entry["collection"])
            loaded.append(RegionIndex(
                region=region, version=entry["version"], collection=col, bm25=bm25, units=units,
                doc_ids=np.array([u["doc_id"] for u in units]), kinds=np.array([u["kind"] for u in units]),
                regions=np.array([u["region"] for u in units]),
                aud_person=np.array([(not u["audience"]) or "个人" in u["audience"] for u in units]),
                aud_legal=np.array([(not u["audience"]) or "法人" in u["audience"] for u in units]),
                df=stats["df"], n=stats["n"], uid_row={u["uid"]: i for i, u in enumerate(units)}))
        calib = index_dir / "calibration.json"
        calibration, fusion = DEFAULT_CALIBRATION, None
        if calib.exists():
            data = json.loads(calib.read_text(encoding="utf-8"))
            if data.get("embedding_id") == want_emb and data.get("features") == FEATURES:
                calibration = data
                fused = data.get("fusion")
                if fused and fused.get("features") == FUSION_FEATURES:
                    fusion = fused
        # Service words: those of the units the dense model reads (titles, aliases, sample questions, 情形), not
        # of steps and addresses, which share everyday words (电话, 上班) with any chat.
        weights: dict[str, float] = {}
        for r in loaded:
            df, n = unit_df(u["tokens"] for u in r.units
                            if u["section"].split(":")[0] not in SPARSE_ONLY and is_vocabulary(u["section"]))
            for word, w in keyness(df, n, self.tokenizer.word_share).items():
                weights[word] = max(w, weights.get(word, 0.0))
        with self._lock:
            self._regions = loaded
            self._calibration = calibration
            self._fusion = fusion
            self._loaded_pointer = pointer
            self._weights = weights
            self._focused.cache_clear()

    # --- search --------------------------------------------------------------------------------
    def term_weight(self, word: str) -> float:
        """How much ``word`` speaks of a service (index/focus.py ``keyness``); 0 for words the guides do not use."""
        return self._weights.get(word, 0.0)

    def service_words(self) -> list[str]:
        """Words the index weighs as speaking of a service (``term_weight`` above 0)."""
        return list(self._weights)

    def focus(self, text: str) -> str:
        """``text`` within ``index.focus_chars``: a longer one is cut to its sentences densest in service words."""
        limit = self.settings.index.focus_chars
        return text if not limit or len(text) <= limit else self._focused(text)

    def _focus(self, text: str) -> str:
        return focus(text, self.settings.index.focus_chars, self.term_weight, tokenize=self.tokenizer.tokenize)

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        """Top ``k`` documents for ``query``; ``score`` is calibrated 0..1 and ``confident`` marks a real match."""
        reranker = self.settings.index.reranker
        return self.search_with(query, k, filters, mode="hybrid", rerank=reranker != "none")

    def search_with(self, query: str, k: int = 5, filters: SearchFilters | None = None, mode: Mode = "hybrid",
                    rerank: bool = False, exclude: set[str] | None = None) -> list[Hit]:
        cands, _ = self._candidates(query, filters, mode, exclude)
        hits = [self._hit(c) for c in cands[:max(k, self.settings.index.rerank_top if rerank else k)]]
        if rerank and hits:
            hits = self._rerank(self.focus(query), hits)
        return hits[:k]

    def features(self, query: str, filters: SearchFilters | None = None,
                 exclude: set[str] | None = None) -> tuple[list[str], list[list[float]]]:
        """Doc ids and calibration features of the ranked candidates (used to fit the calibration)."""
        cands, feats = self._candidates(query, filters, "hybrid", exclude)
        return [c.doc_id for c in cands], feats

    def fusion_features(self, query: str, filters: SearchFilters | None = None,
                        exclude: set[str] | None = None) -> tuple[list[str], list[list[float]]]:
        """Doc ids and fusion features of the candidates (used to fit the fusion)."""
        cands, _ = self._candidates(query, filters, "hybrid", exclude)
        return [c.doc_id for c in cands], [c.fx for c in cands]

    def set_fusion(self, fusion: dict | None) -> None:
        """Use ``fusion`` (as fitted by index/calibrate.py) from the next search on."""
        with self._lock:
            self._fusion = fusion

    def _candidates(self, query: str, filters: SearchFilters | None, mode: Mode,
                    exclude: set[str] | None) -> tuple[list[_Cand], list[list[float]]]:
        if not self._regions:
            raise RuntimeError("the index is empty or not built; run `daoban index build`")
        f = filters or SearchFilters()
        kinds = tuple(sorted(f.kinds)) if f.kinds else None
        query = self.focus(query)  # embedding and BM25 cost grow with the query: every caller gets it bounded
        qnorm = normalize(query)
        toks = self.tokenizer.tokenize(query)
        if not qnorm:
            return [], []
        with self._lock:
            regions = list(self._regions)
        if f.region:
            picked = [i for i, r in enumerate(regions) if r.region.startswith(f.region) or f.region.startswith(r.region)]
            region_ids = picked or list(range(len(regions)))
        else:
            region_ids = list(range(len(regions)))

        sparse: list[tuple[float, int, int]] = []  # (score, region position, row)
        dense: list[tuple[float, int, int]] = []
        qvec = None
        if mode in ("hybrid", "dense"):
            qvec = self.embeddings.embed_query(qnorm)
        for ri in region_ids:
            r = regions[ri]
            mask = r.mask(f.region, f.audience, kinds)
            if exclude:
                mask = np.ones(len(r.units), dtype=bool) if mask is None else mask.copy()
                for uid in exclude:
                    if uid in r.uid_row:
                        mask[r.uid_row[uid]] = False
            if mask is not None and not mask.any():
                continue
            if mode in ("hybrid", "sparse") and toks:
                scores = r.bm25.get_scores(toks)
                if mask is not None:
                    scores = np.where(mask, scores, 0.0)
                top = np.argpartition(-scores, min(CANDIDATES, len(scores) - 1))[:CANDIDATES]
                sparse.extend((float(scores[i]), ri, int(i)) for i in top if scores[i] > 0)
            if qvec is not None:
                where = _where(f.audience, kinds)
                n = min(DENSE_CANDIDATES + (len(exclude) if exclude else 0), len(r.units))
                # Only distances: fetching metadata triples Chroma's query time; ids map to rows here.
                res = r.collection.query(query_embeddings=[qvec], n_results=n, where=where, include=["distances"])
                for uid, dist in zip(res["ids"][0], res["distances"][0]):
                    row = r.uid_row[uid]
                    if mask is not None and not mask[row]:
                        continue
                    dense.append((1.0 - float(dist), ri, row))
        sparse.sort(key=lambda x: -x[0])
        dense.sort(key=lambda x: -x[0])

        cands: dict[str, _Cand] = {}
        for source, ranking in (("sparse", sparse), ("dense", dense)):
            rank = 0
            for score, ri, row in ranking:
                doc_id = str(regions[ri].doc_ids[row])
                c = cands.get(doc_id)
                if c is None:
                    c = cands[doc_id] = _Cand(doc_id, ri)
                if source == "sparse" and c.sparse_rank is None:
                    c.sparse_rank, c.sparse_score = rank, score
                    rank += 1
                elif source == "dense" and c.dense_rank is None:
                    c.dense_rank, c.dense_cos = rank, score
                    rank += 1
                if row not in c.units:  # sparse came first: its score describes the unit best
                    c.units[row] = (source, score)
        if not cands:
            return [], []
        s = self.settings.index
        top_sparse = sparse[0][0] if sparse else 1.0
        cos_values = [d[0] for d in dense]
        cos_floor = min(cos_values) if cos_values else 0.0
        cos_top = max(cos_values) if cos_values else 1.0
        for c in cands.values():
            if mode == "sparse":
                c.fused = -(c.sparse_rank if c.sparse_rank is not None else 1e9)
            elif mode == "dense":
                c.fused = -(c.dense_rank if c.dense_rank is not None else 1e9)
            elif s.fusion == "weighted":
                sp = (c.sparse_score or 0.0) / top_sparse if top_sparse else 0.0
                de = ((c.dense_cos if c.dense_cos is not None else cos_floor) - cos_floor) / max(cos_top - cos_floor, 1e-6)
                c.fused = s.sparse_weight * sp + s.dense_weight * de
            else:
                c.fused = sum(w / (s.rrf_k + r + 1) for w, r in ((s.sparse_weight, c.sparse_rank),
                                                                 (s.dense_weight, c.dense_rank)) if r is not None)
        ranked = sorted(cands.values(), key=lambda c: -c.fused)[:max(20, s.rerank_top)]
        feats = []
        qidf = {ri: self._query_idf(toks, regions[ri]) for ri in {c.ri for c in ranked}}
        # How sure each list is of its first document: its margin over the second, on the list's own scale.
        sp_docs = sorted((c.sparse_score for c in cands.values() if c.sparse_score is not None), reverse=True)
        de_docs = sorted((c.dense_cos for c in cands.values() if c.dense_cos is not None), reverse=True)
        sp_margin = (sp_docs[0] - sp_docs[1]) / sp_docs[0] if len(sp_docs) > 1 and sp_docs[0] > 0 else 0.0
        de_span = max(cos_top - cos_floor, 1e-3)
        de_margin = min((de_docs[0] - de_docs[1]) / de_span, 1.0) if len(de_docs) > 1 else 0.0
        fusion = self._fusion if mode == "hybrid" else None
        for c in ranked:
            c.coverage = self._coverage(qidf[c.ri], regions[c.ri], c)
            sp_rr = 1.0 / (1 + c.sparse_rank) if c.sparse_rank is not None else 0.0
            de_rr = 1.0 / (1 + c.dense_rank) if c.dense_rank is not None else 0.0
            cos = c.dense_cos if c.dense_cos is not None else cos_floor
            agree = 1.0 if (c.sparse_rank is not None and c.dense_rank is not None
                            and c.sparse_rank < 3 and c.dense_rank < 3) else 0.0
            sp_rel = (c.sparse_score or 0.0) / top_sparse if top_sparse else 0.0
            de_rel = (cos - cos_floor) / de_span
            c.fx = [sp_rel, de_rel, sp_rr, de_rr, c.coverage, cos, sp_margin * sp_rel, de_margin * de_rel, agree]
            c.z = _linear(fusion, c.fx) if fusion else 0.0
        z_top = max(c.z for c in ranked)
        for c in ranked:
            x = [c.fx[_FX[name]] for name in FEATURES[:-1]] + [c.z - z_top]  # the last feature is the fusion
            feats.append(x)
            c.score = self._calibrated(x)
        for c in ranked:
            c.index = regions[c.ri]
        if mode == "hybrid":
            # The calibrated score is a learned combination of both rankings; ordering by it raised held-out
            # recall@1 from 0.43 to 0.51 on the shipped corpus, and keeps scores monotonic down the list.
            # A query that is word for word a document's declared sample question goes to that document first:
            # the corpus author routed that wording there explicitly.
            exact = [any(c.index.units[row]["section"].startswith("sample_question")
                         and normalize(c.index.units[row]["text"]) == qnorm for row in c.units) for c in ranked]
            # With a fitted fusion, the calibrated score reads its output (feature "fusion"), so this order
            # follows it while the scores stay monotonic down the list (the router compares neighbours' scores).
            order = sorted(range(len(ranked)), key=lambda i: (not exact[i], -ranked[i].score, -ranked[i].z,
                                                              -ranked[i].fused))
            ranked, feats = [ranked[i] for i in order], [feats[i] for i in order]
        return ranked, feats

    @staticmethod
    def _query_idf(toks: list[str], r: RegionIndex) -> dict[str, float]:
        out = {}
        for t in dict.fromkeys(toks):
            df = r.df.get(t, 0)
            out[t] = math.log(1 + (r.n - df + 0.5) / (df + 0.5))
        return out

    @staticmethod
    def _coverage(qidf: dict[str, float], r: RegionIndex, c: _Cand) -> float:
        """Share of the query's information (IDF mass) found in the document's best-matching unit."""
        total = sum(qidf.values())
        if not total:
            return 0.0
        best = 0.0
        rows = [row for row, _ in sorted(c.units.items(), key=lambda kv: -kv[1][1])[:4]]
        for row in rows:
            toks = set(r.units[row]["tokens"])
            best = max(best, sum(v for t, v in qidf.items() if t in toks) / total)
        return best

    def _calibrated(self, x: list[float]) -> float:
        cal = self._calibration
        z = cal["bias"] + _linear(cal, x)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def _hit(self, c: _Cand) -> Hit:
        r = c.index
        # What matched, content first: a phrasing ranks its guide but holds no fact, and the sections named here
        # are what the answer builds on (a matched FAQ is answered first)
        units = sorted(c.units.items(), key=lambda kv: (not is_vocabulary(r.units[kv[0]]["section"]),
                                                          kv[1][0] != "sparse", -kv[1][1]))
        sections, seen = [], set()
        first = r.units[units[0][0]]
        for row, (source, score) in units:
            u = r.units[row]
            if u["section"] in seen:
                continue
            seen.add(u["section"])
            sections.append(SectionHit(section=u["section"], text=u["text"], score=round(float(score), 4)))
            if len(sections) == 3:
                break
        score = round(c.score, 4)
        return Hit(doc_id=c.doc_id, kind=first["kind"], title=first["title"], region=first["region"],
                   score=score, sparse_score=None if c.sparse_score is None else round(c.sparse_score, 4),
                   dense_score=None if c.dense_cos is None else round(c.dense_cos, 4),
                   confident=score >= self._threshold(first["kind"]), sections=sections)

    def _threshold(self, kind: str) -> float:
        idx = self.settings.index
        return idx.catalog_no_match_threshold if kind == "catalog" else idx.no_match_threshold

    # --- optional second stage -----------------------------------------------------------------
    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        top = self.settings.index.rerank_top
        head, tail = hits[:top], hits[top:]
        kind = self.settings.index.reranker
        if kind == "llm":
            if self.llm_judge is None:  # none passed in: load the local GGUF (clear error when missing)
                self.llm_judge = llm_judge_from_settings(self.settings)
            probs = [self.llm_judge(query, _doc_text(h)) for h in head]
        elif kind == "embedding":
            q = np.asarray(self.embeddings.embed_query(normalize(query)))
            docs = np.asarray(self.embeddings.embed_documents([_doc_text(h) for h in head]))
            cos = docs @ q
            probs = list(cos)
        else:
            return hits
        # Keep first-stage order as a tie-break; the second stage only reorders the head.
        order = sorted(range(len(head)), key=lambda i: (-probs[i], i))
        return [head[i] for i in order] + tail


def _linear(model: dict, x: list[float]) -> float:
    return sum(w * (v - m) / (sd or 1.0) for w, v, m, sd in zip(model["weights"], x, model["mean"], model["std"]))


def _doc_text(h: Hit) -> str:
    parts = [h.title] + [s.text for s in h.sections[:2]]
    return "。".join(dict.fromkeys(parts))[:400]


def _where(audience: str | None, kinds: tuple[str, ...] | None) -> dict | None:
    clauses = []
    if audience == "个人":
        clauses.append({"aud_person": True})
    elif audience == "法人":
        clauses.append({"aud_legal": True})
    if kinds:
        clauses.append({"kind": {"$in": list(kinds)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
