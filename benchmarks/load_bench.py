"""Load on a real API server: requests/s, p50/p95 and errors of normal citizens, with and without one
client sending 2,000-character messages.

    .venv/bin/python benchmarks/load_bench.py [--sessions 20 --turns 10] [--clients 50 --seconds 60] [--long]
                                              [--url http://127.0.0.1:8000] [--default-rate-limit]
    .venv/bin/python benchmarks/load_bench.py --matrix [--seconds 60] [--llm-url http://127.0.0.1:8080/v1]

--matrix: throughput and p50/p95 at 20 and 50 concurrent sessions (back to back, no think time, so the
server is saturated) for 1 and 2 uvicorn workers, on SQLite and on PostgreSQL (a cluster of its own started
with scripts/postgres.sh), `--llm none` unless --llm-url names an OpenAI-compatible LLM server (e.g.
`python -m llama_cpp.server`, as scripts/topology.sh runs it). It prints, per database and concurrency, the
2-worker / 1-worker throughput ratio and both p95s (issue 17's target: at least 1.6x at the same p95 on 2 cores).

Two phases: SESSIONS concurrent sessions of TURNS turns each, then CLIENTS concurrent clients for SECONDS
(each starts a new session every TURNS turns). With --long each phase runs twice, clean and with one more
client sending a 2,000-character message (rambling with one question inside) every LONG_EVERY seconds; the
normal users' p95 should stay within 2x of the clean run.

Messages are the corpus's own `sample_questions` (never the eval sets). Without --url a server is started
here (`uvicorn --factory api.app:app_from_env`, llm none, on 127.0.0.1): on the full corpus with the index of
the current settings when that index is built (its folder is linked into a temporary data folder, so the
bench writes no sessions into yours), else on the small test corpus with an index built for it.
The rate limit is raised so that the bench measures cost, not throttling; --default-rate-limit keeps the
settings' limit (every client here is 127.0.0.1, so they share one budget; 429s are counted apart)."""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIMEOUT_S = 60.0  # one request; a turn slower than this counts as an error
# Everyday talk with no service in it, for the long message (shared with the focus tests).
RAMBLING = [line for line in (ROOT / "tests" / "data" / "chatter.txt").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


def sample_questions(corpus_dir: Path) -> list[str]:
    out: list[str] = []
    for path in sorted(corpus_dir.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            out.extend(str(q) for q in data.get("sample_questions") or [] if str(q).strip())
    if not out:
        raise SystemExit(f"no sample_questions under {corpus_dir}")
    return out


def long_message(question: str, rng: random.Random, chars: int = 2000) -> str:
    """About ``chars`` characters of rambling with the question in the middle (the API takes 2,000 at most)."""
    before, after = [], []
    while sum(map(len, before + after)) + len(question) < chars:
        (before if len(before) <= len(after) else after).append(rng.choice(RAMBLING))
    text = "".join(before) + "对了，我想问一下，" + question + "。" + "".join(after)
    return text[:chars]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    throttled: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, seconds: float, status: int | None) -> None:
        if status == 200:
            self.latencies.append(seconds)
        elif status == 429:
            self.throttled += 1
        else:
            self.errors += 1
        if status is not None:
            self.statuses[status] = self.statuses.get(status, 0) + 1


class Citizen:
    """One browser tab: a session created by its first turn, then continued with its token."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.session_id: str | None = None
        self.token: str | None = None

    async def say(self, message: str, tally: Tally) -> None:
        body: dict = {"message": message}
        headers = {}
        if self.session_id:
            body["session_id"] = self.session_id
            if self.token:
                headers["X-Session-Token"] = self.token
        t0 = time.perf_counter()
        status = None
        try:
            r = await self.client.post("/v1/chat", json=body, headers=headers)
            status = r.status_code
            if status == 200 and self.session_id is None:
                self.session_id = r.json().get("session_id")
                self.token = r.headers.get("X-Session-Token")
        except httpx.HTTPError:
            pass
        tally.add(time.perf_counter() - t0, status)


# One for every client: httpx builds an SSL context per client otherwise (22 ms of CPU, even for http://).
_SSL = ssl.create_default_context()


def tab(url: str) -> httpx.AsyncClient:
    """A browser tab: one keep-alive connection of its own. A new session opens a new tab, so the sessions spread
    over the workers as the kernel hands out connections, as real users' do (one client's pool of connections
    opened at once could land mostly on one worker for the whole run)."""
    return httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S, verify=_SSL,
                             limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


async def normal_user(url: str, questions: list[str], rng: random.Random, tally: Tally,
                      turns: int, deadline: float, think: float, new_session_every: int | None) -> None:
    client = tab(url)
    citizen = Citizen(client)
    await asyncio.sleep(rng.uniform(0, think))  # arrivals spread, not in lockstep
    try:
        for turn in range(turns):
            if time.monotonic() >= deadline:
                return
            if new_session_every and turn and turn % new_session_every == 0:
                await client.aclose()
                client = tab(url)
                citizen = Citizen(client)
            await citizen.say(rng.choice(questions), tally)
            await asyncio.sleep(rng.uniform(0, 2 * think))
    finally:
        await client.aclose()


async def long_user(url: str, questions: list[str], rng: random.Random, tally: Tally,
                    stop: asyncio.Event, every: float, max_messages: int = 10_000) -> None:
    """One message every ``every`` seconds (or back to back when a turn takes longer), until ``stop``."""
    async with tab(url) as client:
        citizen = Citizen(client)
        for n in range(max_messages):
            if stop.is_set():
                return
            if n % 10 == 0:
                citizen = Citizen(client)
            started = time.monotonic()
            await citizen.say(long_message(rng.choice(questions), rng), tally)
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, every - (time.monotonic() - started)))
            except asyncio.TimeoutError:
                pass


async def phase(url: str, questions: list[str], users: int, turns: int, seconds: float, think: float,
                new_session_every: int | None, with_long: bool, long_every: float, seed: int) -> dict:
    rng = random.Random(seed)
    normal, longs = Tally(), Tally()
    stop = asyncio.Event()
    long_task = asyncio.create_task(long_user(url, questions, random.Random(seed + 1), longs, stop,
                                              long_every)) if with_long else None
    deadline = time.monotonic() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(normal_user(url, questions, random.Random(rng.random()), normal, turns, deadline,
                                       think, new_session_every) for _ in range(users)))
    elapsed = time.perf_counter() - t0
    stop.set()
    if long_task is not None:
        await asyncio.wait_for(long_task, timeout=TIMEOUT_S + 5)
    lat = sorted(normal.latencies)
    return {"requests": len(lat) + normal.errors + normal.throttled, "rps": len(lat) / elapsed if elapsed else 0.0,
            "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "errors": normal.errors, "throttled": normal.throttled,
            "seconds": elapsed, "long": len(longs.latencies), "long_p50": pct(sorted(longs.latencies), 0.5),
            "long_errors": longs.errors + longs.throttled, "statuses": normal.statuses}


def process_tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of ``pid`` and each of its descendants, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, todo = {}, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            tree[p] = stats[p][1]
            todo.extend(child for child, (parent, _) in stats.items() if parent == p)
    return tree


def measured_phase(server_pid: int | None, url: str, *args) -> dict:
    """``phase`` with the CPU it cost: each server process's and this client's, per answered turn."""
    before = process_tree_cpu(server_pid) if server_pid else {}
    client0 = time.process_time()
    r = asyncio.run(phase(url, *args))
    client = time.process_time() - client0
    after = process_tree_cpu(server_pid) if server_pid else {}
    turns = max(1, round(r["rps"] * r["seconds"]))
    # Processes that worked during the phase (the supervisor of several workers barely does).
    busy = {p: after[p] - before.get(p, 0.0) for p in after if after[p] - before.get(p, 0.0) > 0.05 * r["seconds"]}
    r.update(turns=turns, client_cpu_ms=1000 * client / turns, server_cpu_ms=1000 * sum(busy.values()) / turns,
             worker_busy=[v / r["seconds"] for v in sorted(busy.values(), reverse=True)])
    return r


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def start_server(tmp: Path, default_rate_limit: bool, workers: int = 1, extra_env: dict | None = None):
    """A real server on 127.0.0.1: the full corpus when its index is built, else the small test corpus."""
    from daoban.settings import load_settings
    from tests.conftest_api import Server, base_env, build_test_index, make_corpus

    settings = load_settings()
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    if (data / "index").is_symlink():
        (data / "index").unlink()
    if (settings.index_dir / "current.json").exists():
        (data / "index").symlink_to(settings.index_dir.resolve(), target_is_directory=True)
        corpus_root, which = settings.corpus_dir, f"full corpus {settings.corpus_dir}, index {settings.index_dir}"
    else:
        corpus_root, which = make_corpus(tmp / "corpus"), "small test corpus (no index built under the data folder)"
    env = base_env(tmp, corpus_root, **(extra_env or {}))
    if workers > 1:  # as `daoban serve --workers` starts them
        from api.cli import WORKER_THREADS_ENV

        env = {**WORKER_THREADS_ENV, **env}
    if default_rate_limit:
        env.pop("DAOBAN_API__RATE_LIMIT_PER_MINUTE", None)
    if corpus_root != settings.corpus_dir:
        build_test_index(env)
    print(f"starting a server ({workers} worker{'s' if workers > 1 else ''}): {which}", flush=True)
    server = Server(env=env, log_path=tmp / "server.log", workers=workers).start(timeout=600)
    if workers > 1:  # the first ready answer is one worker's: wait until every worker answers ready
        ready_in_a_row, deadline = 0, time.time() + 600
        while ready_in_a_row < 10 * workers and time.time() < deadline:
            with httpx.Client(base_url=server.url, timeout=30) as fresh:  # a new connection: any worker
                ready_in_a_row = ready_in_a_row + 1 if fresh.get("/readyz").status_code == 200 else 0
            time.sleep(0.2)
    return server


def matrix(args, tmp: Path) -> None:
    """1 vs 2 workers x SQLite vs PostgreSQL x 20 and 50 concurrent sessions."""
    import subprocess

    from tests.conftest_api import free_port

    llm_env = {"DAOBAN_LLM__BACKEND": "openai", "DAOBAN_LLM__BASE_URL": args.llm_url,
               "DAOBAN_LLM__API_KEY": "none", "DAOBAN_LLM__MODEL": "local"} if args.llm_url else {}
    pg_dir = Path(tempfile.mkdtemp(prefix="daoban-load-pg-"))
    if "postgresql" in args.databases:
        pg_url = subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "start", str(pg_dir),
                                 str(free_port())], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    rows: dict[tuple, dict] = {}
    try:
        for db in args.databases:
            for workers in (1, 2):
                env = dict(llm_env)
                run_tmp = tmp / f"{db}-{workers}"
                if db == "postgresql":
                    from sqlalchemy import create_engine, text

                    name = f"load_{workers}_{int(time.time())}"
                    admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
                    with admin.connect() as conn:
                        conn.execute(text(f'CREATE DATABASE "{name}"'))
                    admin.dispose()
                    env["DAOBAN_API__DATABASE_URL"] = pg_url.rsplit("/", 1)[0] + f"/{name}"
                server = start_server(run_tmp, False, workers, env)
                try:
                    questions = sample_questions(Path(server.env["DAOBAN_CORPUS_DIR"]))
                    asyncio.run(phase(server.url, questions, 4, 3, 30, 0.0, None, False, 1.0, args.seed))  # warm-up
                    for users in args.matrix_sessions:
                        r = measured_phase(server.proc.pid, server.url, questions, users, 1_000_000, args.seconds,
                                           args.matrix_think, args.turns, False, 1.0, args.seed)
                        rows[(db, workers, users)] = r
                        report(f"{db}, {workers} worker{'s' if workers > 1 else ''}, {users} sessions", r)
                finally:
                    server.kill()
    finally:
        if "postgresql" in args.databases:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop", str(pg_dir)], check=False)
        import shutil

        shutil.rmtree(pg_dir, ignore_errors=True)
    print("\n2 workers / 1 worker (target: >= 1.6x throughput at the same p95)")
    for db in args.databases:
        for users in args.matrix_sessions:
            one, two = rows.get((db, 1, users)), rows.get((db, 2, users))
            if one and two and one["rps"]:
                print(f"  {db:<10} {users} sessions: {two['rps'] / one['rps']:.2f}x throughput "
                      f"({one['rps']:.1f} -> {two['rps']:.1f} req/s), p95 {one['p95'] * 1000:.0f} -> "
                      f"{two['p95'] * 1000:.0f} ms, server CPU per turn {one['server_cpu_ms']:.1f} -> "
                      f"{two['server_cpu_ms']:.1f} ms", flush=True)


def report(name: str, r: dict) -> None:
    long = f"  long: {r['long']} done, p50 {r['long_p50']:.2f} s, {r['long_errors']} failed" if r["long"] or \
        r["long_errors"] else ""
    print(f"{name:<28} {r['requests']:>5} req {r['rps']:>6.1f} req/s  p50 {r['p50'] * 1000:>7.0f} ms  "
          f"p95 {r['p95'] * 1000:>7.0f} ms  errors {r['errors']}  429 {r['throttled']}  ({r['seconds']:.0f} s){long}",
          flush=True)
    if "server_cpu_ms" in r:
        busy = " + ".join(f"{b:.0%}" for b in r["worker_busy"])
        print(f"{'':<28} CPU per turn: server {r['server_cpu_ms']:.1f} ms (busy {busy}), "
              f"this client {r['client_cpu_ms']:.1f} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the clients phase (and cap of the "
                                                                "sessions phase)")
    ap.add_argument("--think", type=float, default=3.0, help="mean pause of a user between turns, seconds")
    ap.add_argument("--long", action="store_true", help="run each phase again with one long-message client")
    ap.add_argument("--long-every", type=float, default=1.0, help="seconds between long messages")
    ap.add_argument("--url", help="an already running server (e.g. http://127.0.0.1:8000)")
    ap.add_argument("--default-rate-limit", action="store_true", help="keep the settings' rate limit")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--matrix", action="store_true", help="1 vs 2 workers x SQLite vs PostgreSQL x 20 and 50 sessions")
    ap.add_argument("--matrix-think", type=float, default=0.0, help="--matrix: pause between turns (0: saturate)")
    ap.add_argument("--llm-url", help="--matrix: an OpenAI-compatible LLM server instead of --llm none")
    ap.add_argument("--databases", type=lambda v: v.split(","), default=["sqlite", "postgresql"],
                    help="--matrix: comma-separated, of sqlite and postgresql")
    ap.add_argument("--matrix-sessions", type=lambda v: [int(x) for x in v.split(",")], default=[20, 50],
                    help="--matrix: concurrent sessions, comma-separated")
    args = ap.parse_args()

    from daoban.settings import load_settings

    if args.matrix:
        with tempfile.TemporaryDirectory(prefix="daoban-load-") as tmp:
            matrix(args, Path(tmp))
        return

    server = None
    with tempfile.TemporaryDirectory(prefix="daoban-load-") as tmp:
        try:
            if args.url:
                url, corpus_dir = args.url.rstrip("/"), load_settings().corpus_dir
            else:
                server = start_server(Path(tmp), args.default_rate_limit)
                url, corpus_dir = server.url, Path(server.env["DAOBAN_CORPUS_DIR"])
            questions = sample_questions(corpus_dir)
            print(f"{len(questions)} sample questions; think time {args.think} s mean", flush=True)
            asyncio.run(phase(url, questions, 2, 2, 30, 0.1, None, False, 1.0, args.seed))  # warm-up, not reported
            runs = [False, True] if args.long else [False]
            plan = [(f"{args.sessions} sessions x {args.turns} turns", args.sessions, args.turns, None),
                    (f"{args.clients} clients x {args.seconds:.0f} s", args.clients, 1_000_000, args.turns)]
            for name, users, turns, every in plan:
                results = {}
                for with_long in runs:
                    label = name + (" + long" if with_long else "")
                    r = asyncio.run(phase(url, questions, users, turns, args.seconds, args.think, every, with_long,
                                          args.long_every, args.seed))
                    results[with_long] = r
                    report(label, r)
                if args.long:
                    ratio = results[True]["p95"] / results[False]["p95"]
                    print(f"  normal users' p95 with the long client: {ratio:.1f}x the clean run "
                          f"({'within' if ratio <= 2 else 'NOT within'} 2x)", flush=True)
        finally:
            if server is not None:
                server.kill()


if __name__ == "__main__":
    main()
