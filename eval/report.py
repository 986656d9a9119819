"""JSON and a self-contained HTML report (charts as embedded PNGs) that content staff can read."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from eval.metrics import HEADLINE, INTENTS, Summary, compare
from eval.scoring import CaseResult

LABELS = {
    "resolution_rate": "咨询解决率", "intent_accuracy": "意图准确率", "routing_top1": "路由首位命中",
    "retrieval_recall_at_1": "检索 recall@1", "retrieval_recall_at_5": "检索 recall@5", "retrieval_mrr": "检索 MRR",
    "clarify_precision": "澄清精确率", "clarify_recall": "澄清召回率", "slot_precision": "槽位精确率",
    "slot_recall": "槽位召回率", "strict_resolution_rate": "严格解决率", "precise_answer_rate": "首句答所问（精准回答）", "prefill_rate": "预填率（仅对话）",
    "prefill_rate_with_licences": "预填率（登录后电子证照免填写）", "verifier_fallback_rate": "校验回退率", "latency_p50_ms": "延迟 p50 (ms)",
    "latency_p95_ms": "延迟 p95 (ms)",
}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt  # lazy: matplotlib is heavy and only the HTML report draws

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _charts(summary: Summary, results: list[CaseResult]) -> dict[str, str]:
    import matplotlib  # lazy: heavy, only the HTML report draws; the backend must be set before pyplot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: after matplotlib.use

    charts = {}
    kinds = list(summary.by_kind)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(kinds, [summary.by_kind[k]["rate"] or 0 for k in kinds], color="#2f6fb3")
    ax.set_ylim(0, 1)
    ax.set_ylabel("resolution rate")
    ax.set_title("Resolution rate by expected kind")
    for i, k in enumerate(kinds):
        ax.text(i, (summary.by_kind[k]["rate"] or 0) + 0.02, f"n={summary.by_kind[k]['cases']}", ha="center", fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    charts["by_kind"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist([r.latency_ms for r in results], bins=30, color="#5a9e6f")
    ax.set_xlabel("latency per case, last turn (ms)")
    ax.set_title("Latency")
    charts["latency"] = _png(fig)

    present = [i for i in INTENTS if i in summary.confusion or any(i in row for row in summary.confusion.values())]
    if present:
        matrix = np.array([[summary.confusion.get(a, {}).get(b, 0) for b in present] for a in present])
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(present)), present, rotation=35, ha="right")
        ax.set_yticks(range(len(present)), present)
        ax.set_xlabel("predicted")
        ax.set_ylabel("expected")
        for i in range(len(present)):
            for j in range(len(present)):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                            color="white" if matrix[i, j] > matrix.max() / 2 else "black", fontsize=8)
        ax.set_title("Intent confusion")
        charts["confusion"] = _png(fig)
    return charts


def write_report(out_dir: Path, summary: Summary, results: list[CaseResult], meta: dict,
                 previous: dict | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, **summary.model_dump()}
    json_path = out_dir / "summary.json"
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    cases_path = out_dir / "cases.jsonl"
    cases_path.write_text("".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8")

    charts = _charts(summary, results)
    esc = html.escape

    def fmt(v) -> str:
        if v is None:
            return "–"
        if isinstance(v, float) and v <= 1 and not isinstance(v, bool):
            return f"{v:.1%}"
        return esc(str(v))

    rows = "".join(f"<tr><td>{LABELS.get(k, k)}</td><td>{fmt(payload.get(k))}</td></tr>" for k in HEADLINE)
    diff = ""
    if previous is not None:
        lines = []
        for row in compare(previous, payload):
            if isinstance(row["new"], list):
                lines.append(f"<tr><td>{esc(row['metric'])}</td><td colspan=3>{esc(', '.join(row['new'])) or '–'}</td></tr>")
            else:
                change = row["change"]
                cls = "" if not change else ("up" if change > 0 else "down")
                lines.append(f"<tr><td>{LABELS.get(row['metric'], row['metric'])}</td><td>{fmt(row['old'])}</td>"
                             f"<td>{fmt(row['new'])}</td><td class='{cls}'>{'' if change is None else f'{change:+.4g}'}</td></tr>")
        diff = "<h2>与上次对比 Changes since the previous run</h2><table><tr><th>metric</th><th>old</th><th>new</th><th>change</th></tr>" + "".join(lines) + "</table>"
    targets = "".join(
        f"<tr><td>{esc(t)}</td><td>{v['cases']}</td><td>{fmt(v['rate'])}</td></tr>"
        for t, v in sorted(summary.by_target.items(), key=lambda kv: (kv[1]["rate"] or 0, kv[0])))
    channels = "".join(f"<tr><td>{esc(c)}</td><td>{v['cases']}</td><td>{fmt(v['rate'])}</td></tr>"
                       for c, v in summary.by_channel.items())
    failures = "".join(
        f"<tr><td>{esc(f['id'])}</td><td>{esc(f['kind'])}</td><td>{esc(f['target'] or '')}</td>"
        f"<td>{'<br>'.join(esc(r) for r in f['reasons'])}</td><td class='ans'>{esc(f['answer'])}</td></tr>"
        for f in summary.failures)
    images = "".join(f"<figure><img alt='{k}' src='{src}'></figure>" for k, src in charts.items())
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>daoban eval {esc(meta.get('set', ''))}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem;color:#1d2733;max-width:1100px}}
table{{border-collapse:collapse;margin:1rem 0;width:100%}}td,th{{border:1px solid #d6dde6;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}}
th{{background:#eef3f8}}.up{{color:#1a7f37}}.down{{color:#c62828}}figure{{display:inline-block;margin:.5rem}}.ans{{color:#555;font-size:.8rem}}
.big{{font-size:2.2rem;font-weight:700;color:#2f6fb3}}</style></head><body>
<h1>daoban 评测报告 Eval report</h1>
<p>set <b>{esc(str(meta.get('set')))}</b> · LLM <b>{esc(str(meta.get('llm')))}</b> · {summary.cases} cases · {esc(str(meta.get('finished', '')))}</p>
<p class="big">咨询解决率 {fmt(summary.resolution_rate)} <small>({summary.resolved}/{summary.cases})</small></p>
<table><tr><th>metric</th><th>value</th></tr>{rows}</table>{diff}
{images}
<h2>按事项/场景 By target</h2><table><tr><th>target</th><th>cases</th><th>resolved</th></tr>{targets}</table>
<h2>按渠道 By channel</h2><table><tr><th>channel</th><th>cases</th><th>resolved</th></tr>{channels}</table>
<h2>未解决的案例 Failed cases ({len(summary.failures)})</h2>
<table><tr><th>id</th><th>kind</th><th>target</th><th>why</th><th>answer (start)</th></tr>{failures}</table>
</body></html>"""
    html_path = out_dir / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return {"json": json_path, "cases": cases_path, "html": html_path}
