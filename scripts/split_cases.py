"""Split a blind case file into a dev and a test part by a hash of each case id (stable, about half each).

    python scripts/split_cases.py IN.jsonl --dev eval/datasets/catalog-dev --test eval/datasets/catalog-test

Prints counts only: the test part's cases are never to be read."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path


def is_test(case_id: str) -> bool:
    return hashlib.sha1(case_id.encode("utf-8")).digest()[0] % 2 == 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", type=Path)
    ap.add_argument("--dev", type=Path, required=True)
    ap.add_argument("--test", type=Path, required=True)
    args = ap.parse_args()
    parts: dict[bool, list[str]] = {False: [], True: []}
    for line in args.source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            parts[is_test(json.loads(line)["id"])].append(line)
    for test, folder in ((False, args.dev), (True, args.test)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / args.source.name).write_text("\n".join(parts[test]) + "\n", encoding="utf-8")
    print(f"dev {len(parts[False])}, test {len(parts[True])}")


if __name__ == "__main__":
    main()
