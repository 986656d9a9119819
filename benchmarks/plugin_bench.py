"""What the plug-in points cost over a real server: /v1/chat/completions (a continued session, stateless with 1, 3 and
6 replayed user turns, streamed: first chunk and whole) and Dify's /retrieval, next to /v1/chat for the same
question. Sequential requests, p50/p95 in ms.

    .venv/bin/python benchmarks/plugin_bench.py [--n 20] [--url http://127.0.0.1:8000 --key KEY]

Without --url a server is started here on the small test corpus (the 新生儿出生 一件事, its matters and the
housing-fund guides; llm none), as tests/conftest_api.py does, with an index built for it."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

QUESTIONS = ["孩子出生了要上户口", "公积金怎么提取", "新生儿医保怎么办", "租房可以提取公积金吗"]
HISTORY = ["孩子出生了要上户口", "需要哪些材料", "在哪里办", "要多久", "收费吗", "我要办"]


def figures(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{name:<48} n={len(ms):<3} p50 {statistics.median(ms):7.0f} ms   p95 {p95:7.0f} ms")


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(url: str, key: str, n: int) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    http = httpx.Client(base_url=url, timeout=120)

    def completion(messages: list[str], user: str | None = None) -> None:
        body = {"model": "bench", "messages": [{"role": "user", "content": m} for m in messages]}
        if user:
            body["user"] = user
        r = http.post("/v1/chat/completions", json=body, headers=auth)
        r.raise_for_status()

    q = lambda i: QUESTIONS[i % len(QUESTIONS)]  # noqa: E731
    completion([q(0)])  # warm
    figures("/v1/chat (citizen, new session)", timed(lambda i: http.post("/v1/chat", json={"message": q(i)})
                                                      .raise_for_status(), n))
    figures("completions, continued session (user)", timed(lambda i: completion([q(i)], user="bench-user"), n))
    for turns in (1, 3, 6):
        figures(f"completions, stateless, {turns} user turn(s) replayed",
                timed(lambda i, t=turns: completion(HISTORY[-t:]), n))

    first: list[float] = []

    def streamed(i: int) -> None:
        t0 = time.perf_counter()
        body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": q(i)}]}
        with http.stream("POST", "/v1/chat/completions", json=body, headers=auth) as r:
            for line in r.iter_lines():
                if line.startswith("data: {") and not first[i:]:
                    first.append((time.perf_counter() - t0) * 1000)
    whole = timed(streamed, n)
    figures("completions, streamed: first chunk", first)
    figures("completions, streamed: whole", whole)
    figures("/retrieval (Dify, top_k 3)", timed(lambda i: http.post("/retrieval", headers=auth, json={
        "knowledge_id": "山东省", "query": q(i), "retrieval_setting": {"top_k": 3, "score_threshold": 0.0}})
        .raise_for_status(), n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20, help="requests per figure (bounded: at most 200)")
    ap.add_argument("--url")
    ap.add_argument("--key", help="an integration key of the server at --url")
    args = ap.parse_args()
    n = max(1, min(args.n, 200))
    if args.url:
        if not args.key:
            raise SystemExit("--url needs --key (a key of role integration)")
        run(args.url, args.key, n)
        return
    from conftest_api import INTEGRATION_KEY, Server, base_env, build_test_index, make_corpus

    with tempfile.TemporaryDirectory(prefix="daoban-plugin-bench-") as tmp:
        tmp = Path(tmp)
        env = base_env(tmp, make_corpus(tmp / "corpus", extra_matters="housing-fund-*"))
        build_test_index(env)
        server = Server(env=env, log_path=tmp / "server.log").start()
        try:
            print(f"server on the test corpus, llm none, {json.dumps(n)} requests per figure")
            run(server.url, INTEGRATION_KEY, n)
        finally:
            server.kill()


if __name__ == "__main__":
    main()
