"""Index benchmark at 1,000 / 5,000 / 21,000 documents: build time, query p50/p95, peak memory, disk size,
and unchanged-rebuild time.

    .venv/bin/python benchmarks/index_bench.py [--sizes 1000 5000 21000] [--queries 200]

The documents are real names: the 广安区 public matter catalogue (../shared/data/matter-catalog-guangan.csv)
plus the corpus's own guides, expanded as district variants across real cities (the same national catalogue
names recur in every district, each guide variant gets its district's name, hall and address). Each city is
one region folder (one Chroma collection); documents carry their district as region. Each phase runs in a
fresh process so peak memory (ru_maxrss) is that phase's own."""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CATALOG_CSV = ROOT.parent / "shared" / "data" / "matter-catalog-guangan.csv"

CITIES = {
    "四川省广安市": ["广安区", "前锋区", "华蓥市", "岳池县", "武胜县", "邻水县", "市本级"],
    "四川省南充市": ["顺庆区", "高坪区", "嘉陵区", "阆中市", "南部县", "西充县", "仪陇县", "营山县", "蓬安县", "市本级"],
    "四川省遂宁市": ["船山区", "安居区", "射洪市", "蓬溪县", "大英县", "市本级"],
}


def _slug(text: str) -> str:
    return "d" + str(abs(hash(text)) % 10**8)


def make_corpus(root: Path, size: int) -> dict:
    """Write ``size`` documents as YAML; returns where they went."""
    import yaml

    from corpus.loader import load_corpus

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    base = load_corpus(ROOT / "corpus" / "data")
    guides = [d for d in base.documents() if d.kind in ("matter", "scenario", "faq")]
    with CATALOG_CSV.open(encoding="utf-8") as f:
        catalog = list(csv.DictReader(f))
    written, districts = 0, []
    for ci, (city, dists) in enumerate(CITIES.items()):
        city_dir = root / f"city{ci}"
        city_dir.mkdir(parents=True, exist_ok=True)
        (city_dir / "region.yaml").write_text(yaml.dump({"name": city}, allow_unicode=True, Dumper=dumper),
                                              encoding="utf-8")
        for di, dist in enumerate(dists):
            if written >= size:
                break
            region = city + ("" if dist == "市本级" else dist)
            districts.append(region)
            tag = f"c{ci}d{di}"
            for g in guides:
                if written >= size:
                    break
                data = g.model_dump(mode="json", exclude_none=True)
                data = json.loads(re.sub(r"山东省|山东", region, json.dumps(data, ensure_ascii=False)))
                data["id"] = f"{g.id}-{tag}"[:80]
                data["region"] = region
                if g.kind in ("matter", "scenario"):
                    data["places"] = [{"name": f"{region}政务服务中心综合窗口",
                                       "address": f"{region}人民路{di + 1}号政务服务中心一楼"}]
                data.pop("kind", None)
                folder = {"matter": "matters", "scenario": "scenarios", "faq": "faqs"}[g.kind]
                (city_dir / folder).mkdir(exist_ok=True)
                (city_dir / folder / f"{data['id']}.yaml").write_text(
                    yaml.dump(data, allow_unicode=True, sort_keys=False, Dumper=dumper), encoding="utf-8")
                written += 1
            for row in catalog:
                if written >= size:
                    break
                doc = {"id": f"{row['itemCode'].lower()}-{tag}"[:80], "title": row["name"], "region": region,
                       "department": row["department"].replace("区", dist[-1] if dist != "市本级" else "市", 1),
                       "main_item": row["main_item"], "code": row["itemCode"], "link": row["link"]}
                doc["id"] = re.sub(r"[^a-z0-9-]", "-", doc["id"])
                (city_dir / "catalog").mkdir(exist_ok=True)
                (city_dir / "catalog" / f"{doc['id']}.yaml").write_text(
                    yaml.dump(doc, allow_unicode=True, sort_keys=False, Dumper=dumper), encoding="utf-8")
                written += 1
        if written >= size:
            break
    return {"documents": written, "districts": districts}


def _settings(work: Path):
    from daoban.settings import Settings
    return Settings(data_dir=work / "var", corpus_dir=work / "corpus")


def child_build(work: Path) -> dict:
    from index.build import build_index
    t = time.perf_counter()
    report = build_index(_settings(work))
    return {"seconds": time.perf_counter() - t, "embedded": report.embedded, "reused": report.reused,
            "units": report.units, "documents": report.documents,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_query(work: Path, n_queries: int) -> dict:
    from corpus.loader import load_corpus
    from index.retriever import HybridRetriever
    from index.types import SearchFilters

    settings = _settings(work)
    t = time.perf_counter()
    retriever = HybridRetriever.from_settings(settings)
    load_s = time.perf_counter() - t
    districts = json.loads((work / "districts.json").read_text(encoding="utf-8"))
    base = load_corpus(ROOT / "corpus" / "data")
    questions = [q for d in base.documents() if d.kind != "catalog" for q in d.sample_questions]
    titles = [d.title for d in base.catalog.values()]
    queries = []
    for i in range(n_queries):  # two in three everyday questions, one in three catalogue names
        pool = titles if i % 3 == 2 else questions
        queries.append((pool[(i * 7919) % len(pool)], districts[i % len(districts)]))
    retriever.search("预热", k=5)
    filtered, unfiltered = [], []
    for q, region in queries:
        t = time.perf_counter()
        retriever.search(q, k=5, filters=SearchFilters(region=region))
        filtered.append((time.perf_counter() - t) * 1000)
    for q, _ in queries[: max(20, n_queries // 4)]:
        t = time.perf_counter()
        retriever.search(q, k=5)
        unfiltered.append((time.perf_counter() - t) * 1000)

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    return {"load_s": load_s, "p50_ms": statistics.median(filtered), "p95_ms": pct(filtered, 95),
            "all_regions_p50_ms": statistics.median(unfiltered), "all_regions_p95_ms": pct(unfiltered, 95),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 21000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the generated corpus and index")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, work = args.child[0], Path(args.child[1])
        result = child_build(work) if kind == "build" else child_query(work, int(args.child[2]))
        print(json.dumps(result))
        return

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    rows = []
    for size in args.sizes:
        work = Path(tempfile.mkdtemp(prefix=f"daoban-bench-{size}-"))
        try:
            t = time.perf_counter()
            info = make_corpus(work / "corpus", size)
            gen_s = time.perf_counter() - t
            (work / "districts.json").write_text(json.dumps(info["districts"], ensure_ascii=False), encoding="utf-8")
            print(f"[{size}] wrote {info['documents']} documents in {gen_s:.1f} s; building…", flush=True)
            build = _run_child(["build", str(work)])
            print(f"[{size}] build {build}", flush=True)
            query = _run_child(["query", str(work), str(args.queries)])
            print(f"[{size}] query {query}", flush=True)
            again = _run_child(["build", str(work)])
            print(f"[{size}] unchanged rebuild {again}", flush=True)
            rows.append({"documents": info["documents"], "units": build["units"], "embedded": build["embedded"],
                         "build_s": build["seconds"], "build_peak_mb": build["peak_mb"],
                         "p50_ms": query["p50_ms"], "p95_ms": query["p95_ms"],
                         "all_p95_ms": query["all_regions_p95_ms"], "query_peak_mb": query["peak_mb"],
                         "disk_mb": disk_mb(work / "var" / "index"), "rebuild_s": again["seconds"],
                         "rebuild_embedded": again["embedded"]})
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"cpu cores: {os.cpu_count()}, load average at end: {os.getloadavg()[0]:.1f}")
    print("| documents | units | embedded | full build s | build peak MB | query p50 ms | query p95 ms "
          "| all-regions p95 ms | query peak MB | disk MB | unchanged rebuild s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['documents']:,} | {r['units']:,} | {r['embedded']:,} | {r['build_s']:.1f} | "
              f"{r['build_peak_mb']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['all_p95_ms']:.1f} | "
              f"{r['query_peak_mb']:.0f} | {r['disk_mb']:.1f} | {r['rebuild_s']:.1f} |")


if __name__ == "__main__":
    main()
