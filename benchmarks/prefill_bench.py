"""Prefill latency: slot extraction per message and a whole FormFiller.fill per turn (no LLM).

Run: .venv/bin/python benchmarks/prefill_bench.py [--sessions 40]
Sessions are generated here from templates and random valid/invalid numbers; the
figures printed are wall-clock on this machine (p50/p95 over all turns).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.forms import FormFiller, SlotExtractor  # noqa: E402
from corpus.loader import load_corpus  # noqa: E402
from tests.conftest_prefill import business_form, make_id, make_uscc  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ["丽", "伟", "娜", "强", "晓燕", "小宝", "子涵", "浩然", "静", "磊"]
TEMPLATES = [
    "我是孩子{rel}，叫{name}，身份证{id}，手机{phone}",
    "孩子妈妈叫{name2}，身份证号{id2}",
    "宝宝叫{name3}，{when}在{city}妇幼保健院出生，是个{sex}",
    "户口{follow}，落在{city}历下区泉城路{n}号{n}单元",
    "不对，电话写错了，是{phone2}",
    "公司叫{city}{word}科技有限公司，统一社会信用代码{uscc}，注册资本{money}",
    "法人是{name}，身份证{id}，员工{n}人，联系电话{landline}",
]


def fmt_phone(rng: random.Random) -> str:
    digits = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
    return rng.choice([digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"])


def session(rng: random.Random) -> list[str]:
    def name() -> str:
        return rng.choice(SURNAMES) + rng.choice(GIVEN)

    def ident() -> str:
        value = make_id("370102", f"19{rng.randint(70, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}", f"{rng.randint(100, 999)}")
        return value if rng.random() > 0.2 else value[:-1] + ("0" if value[-1] != "0" else "1")

    fill = dict(rel=rng.choice(["妈妈", "爸爸"]), name=name(), name2=name(), name3=name(), id=ident(), id2=ident(),
                phone=fmt_phone(rng), phone2=fmt_phone(rng), when=rng.choice(["上周三", "昨天", "11月16日", "二〇二六年十一月十日"]),
                city=rng.choice(["济南市", "青岛市", "烟台市"]), sex=rng.choice(["男孩", "女孩"]),
                follow=rng.choice(["随父落户", "随妈妈"]), n=rng.randint(1, 99), word=rng.choice(["泉城", "海岱", "齐鲁"]),
                uscc=make_uscc(f"91370{rng.randint(100, 999)}MA{rng.randint(100000, 999999)}"),
                money=rng.choice(["50万", "3.5万元", "三万五", "200000元"]), landline="0531-8888 9999")
    return [t.format(**fill) for t in TEMPLATES]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    today = dt.date(2026, 11, 23)

    filler = FormFiller()
    # the same LAC, no cache: each message's extraction measured on its own
    uncached = SlotExtractor(filler.slot_extractor.vocab, filler.slot_extractor.lexer, cache_size=0)
    t0 = time.perf_counter()
    filler.warm_up()
    cold_ms = (time.perf_counter() - t0) * 1000
    corpus = load_corpus(regions=["shandong"])
    forms = [s.form for s in corpus.scenarios.values()] + [business_form()]

    extract_ms, turn_ms = [], []
    for _ in range(args.sessions):
        texts = session(rng)
        for form in forms:
            state = None
            filler.slot_extractor.cache_clear()  # measure each turn as if the messages were new
            for i in range(len(texts)):
                t = time.perf_counter()
                uncached.extract(texts[i], today)
                extract_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                state = filler.fill(form, texts[: i + 1], answers={}, previous=state, today=today)
                turn_ms.append((time.perf_counter() - t) * 1000)

    print(f"forms: {len(forms)}, sessions: {args.sessions}, turns: {len(turn_ms)}")
    print(f"warm_up (LAC model, jionlp ID and location tables, cn2an): {cold_ms:.0f} ms, once per process")
    print(f"extract_slots per message  p50 {statistics.median(extract_ms):6.1f} ms   p95 {pct(extract_ms, 95):6.1f} ms")
    print(f"FormFiller.fill per turn   p50 {statistics.median(turn_ms):6.1f} ms   p95 {pct(turn_ms, 95):6.1f} ms"
          "   (whole session so far, earlier messages cached)")


if __name__ == "__main__":
    main()
