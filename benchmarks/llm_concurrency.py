"""Simultaneous consult turns through one assistant on the `openai` backend: how many get the LLM's lead, and how
long they take, for each `llm.max_concurrency`.

    .venv/bin/python benchmarks/llm_concurrency.py [--turns 4 --turns 5] [--slots 1 --slots 4] [--delay 2]
                                                   [--queue-wait 1] [--base-url http://127.0.0.1:8001/v1 --model m]

Without --base-url the endpoint is a real OpenAI-compatible HTTP server started here that takes --delay seconds
a request and serves any number at once (a GPU server's batching, without the GPU); its peak of requests in flight
is printed. With --base-url, any endpoint (vLLM, Ollama, `daoban model serve`). The assistant runs over the agent
tests' slice of the corpus (built once, or reused from DAOBAN_AGENT_TEST_DIR)."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(key, "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

QUESTION = "出生证明要多久能拿到，收费吗"


def run(assistant, turns: int) -> tuple[list[str], list[float]]:
    """``turns`` sessions asking at the same moment; each one's lead outcome and seconds."""
    start = threading.Barrier(turns)
    leads: list[str] = [""] * turns
    seconds: list[float] = [0.0] * turns

    def ask(i: int) -> None:
        start.wait()
        t = time.perf_counter()
        leads[i] = assistant.handle(QUESTION).lead or "none"
        seconds[i] = time.perf_counter() - t

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(turns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return leads, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, action="append", help="simultaneous turns (repeatable); default 4 and 5")
    ap.add_argument("--slots", type=int, action="append", help="llm.max_concurrency (repeatable); default 1 and 4")
    ap.add_argument("--delay", type=float, default=2.0, help="seconds the started server takes a request")
    ap.add_argument("--queue-wait", type=float, default=1.0, help="llm.queue_wait_s")
    ap.add_argument("--timeout", type=float, default=8.0, help="llm.timeout_s")
    ap.add_argument("--base-url", help="an OpenAI-compatible endpoint instead of the started server")
    ap.add_argument("--model", default="daoban-local", help="model name at --base-url")
    args = ap.parse_args()

    from agent.pipeline import Assistant
    from tests.conftest_agent import agent_settings
    from tests.scripted_llm import ScriptedChatServer

    server = None
    if args.base_url is None:
        server = ScriptedChatServer()
        server.delay_s = args.delay
        server.reply_text = "办理出生医学证明不收费。"
    base_url = args.base_url or server.url
    print(f"endpoint {base_url}" + (f" ({args.delay:.1f} s a request)" if server else "")
          + f", budget {args.timeout:.1f} s, queue wait {args.queue_wait:.1f} s")
    print("| slots | turns at once | LLM leads | no LLM (busy) | server peak in flight | turn p50 / max |")
    print("| --- | --- | --- | --- | --- | --- |")
    try:
        for slots in args.slots or [1, 4]:
            settings = agent_settings("openai", base_url=base_url, model=args.model, timeout_s=args.timeout,
                                      max_concurrency=slots, queue_wait_s=args.queue_wait)
            assistant = Assistant.from_settings(settings)
            assistant.handle("你好")  # load what the first turn loads, outside the measure
            for turns in args.turns or [4, 5]:
                assistant.runner.runner.wait_settled(60)
                busy = assistant.runner.stats["busy"]
                if server:
                    server.reset_peak()
                leads, seconds = run(assistant, turns)
                peak = str(server.peak_in_flight) if server else "-"
                print(f"| {slots} | {turns} | {leads.count('accepted') + leads.count('rejected')} | "
                      f"{leads.count('unavailable')} ({assistant.runner.stats['busy'] - busy}) | {peak} | "
                      f"{statistics.median(seconds):.1f} s / {max(seconds):.1f} s |")
            assistant.runner.runner.wait_settled(60)
            assistant.close()
    finally:
        if server:
            server.close()


if __name__ == "__main__":
    main()
