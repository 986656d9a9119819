"""Pre-review (辅助审核) on seeded faults: precision and recall per fault class and overall.

Run: .venv/bin/python benchmarks/review_bench.py [--seed 16] [--generic 40] [--misses N]
Every guide with a declared form and a seeded sample of generic-form matters, each applied for oneself and for
another person (代他人办理) where the form allows, built clean through the real form filler; the clean ones must
raise no 补正 item, then each fault class the form's data can show is injected alone (eval/review_faults.py)."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.forms.review import PreReviewer  # noqa: E402
from agent.forms.vocabulary import load_form_words  # noqa: E402
from corpus.loader import load_corpus  # noqa: E402
from eval.review_faults import FAULT_CLASSES, run  # noqa: E402

TODAY = dt.date(2026, 12, 1)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--generic", type=int, default=40, help="generic-form matters sampled")
    ap.add_argument("--misses", type=int, default=0, help="print this many missed faults and false findings")
    args = ap.parse_args()
    corpus = load_corpus()
    shown = []

    def on_miss(fault, review):
        if len(shown) < args.misses:
            shown.append(f"  {fault.cls:18} {fault.app.form.id:45} expected {sorted(fault.expected)} "
                         f"got {[(i.key, i.severity) for i in review.items if i.severity == 'fix']}")

    t0 = time.perf_counter()
    scores = run(corpus, PreReviewer(load_form_words().review), TODAY, seed=args.seed, generic=args.generic,
                 on_miss=on_miss)
    took = time.perf_counter() - t0
    print(f"{len(scores.forms)} forms, {scores.clean} clean applications ({scores.incomplete} left out: the "
          f"generator could not complete them), {took:.1f} s")
    print(f"clean applications with a 补正 finding (false positives): {scores.clean_flagged} "
          f"({scores.clean_findings} findings)")
    print(f"{'fault class':20} {'cases':>6} {'caught':>7} {'recall':>8} {'precision':>10}  what")
    for name, s in scores.classes.items():
        print(f"{name:20} {s.cases:6d} {s.caught:7d} {pct(s.recall):>8} {pct(s.precision):>10}  "
              f"{FAULT_CLASSES[name]}")
    precision, recall = scores.overall()
    cases = sum(s.cases for s in scores.classes.values())
    print(f"{'overall':20} {cases:6d} {sum(s.caught for s in scores.classes.values()):7d} {pct(recall):>8} "
          f"{pct(precision):>10}")
    print("\n".join(shown))


if __name__ == "__main__":
    main()
