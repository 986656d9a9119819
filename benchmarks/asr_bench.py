"""What POST /v1/asr adds to the ASR server's own time: the clip is read, checked (type, size, length) and forwarded.
Sequential requests with 2, 10 and 30 s clips (16 kHz mono WAV, as the widget sends), each against the scripted
ASR server directly and through a real daoban server; p50/p95 in ms.

    .venv/bin/python benchmarks/asr_bench.py [--n 20]

A server is started here on the small test corpus (llm none), as tests/conftest_api.py does, with the scripted
ASR server of tests/scripted_asr.py (it answers at once, so the figures are daoban's cost and the transport's)."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def figures(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{name:<44} n={len(ms):<3} p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms")


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20, help="requests per figure")
    args = parser.parse_args()
    from conftest_api import Server, base_env, build_test_index, make_corpus
    from scripted_asr import ScriptedAsrServer, wav_bytes

    asr = ScriptedAsrServer()
    asr.transcript = "新生儿出生一件事要带什么材料"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = base_env(tmp, make_corpus(tmp / "corpus"), DAOBAN_ASR__BASE_URL=asr.url,
                       DAOBAN_ASR__RATE_LIMIT_PER_MINUTE="0")  # unlimited: the cost, not the limit, is measured
        build_test_index(env)
        server = Server(env=env, log_path=tmp / "server.log").start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http, httpx.Client(timeout=60) as direct:
                r = http.post("/v1/sessions", json={})
                session = {"session_id": r.json()["session_id"]}
                headers = {"X-Session-Token": r.json()["session_token"]}
                for seconds in (2, 10, 30):
                    clip = wav_bytes(seconds)
                    files = {"file": ("voice.wav", clip, "audio/wav")}
                    form = {"model": "m", "language": "zh", "response_format": "json"}

                    def via_daoban():
                        assert http.post("/v1/asr", files=files, data=session, headers=headers).status_code == 200

                    def straight():
                        assert direct.post(f"{asr.url}/audio/transcriptions", files=files, data=form).status_code == 200

                    for _ in range(3):  # warm both connections and paths
                        via_daoban()
                        straight()
                    print(f"{seconds} s clip, {len(clip) // 1000} KB")
                    figures("  ASR server directly", timed(straight, args.n))
                    figures("  through POST /v1/asr", timed(via_daoban, args.n))
        finally:
            server.kill()
            asr.close()


if __name__ == "__main__":
    main()
