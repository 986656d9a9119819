"""What the citizen reads about a form."""
from __future__ import annotations

from agent.reply import FormState


def missing_prompt(state: FormState) -> str:
    """A Chinese sentence asking for what the form still needs ("" when nothing)."""
    by_key = {f.key: f for f in state.fields}
    empty = [by_key[k].label for k in state.missing if k in by_key and not by_key[k].value]
    wrong = [f"{by_key[k].label}（{by_key[k].error or '格式不对'}）" for k in state.missing
             if k in by_key and by_key[k].value and not by_key[k].valid]
    parts = []
    if empty:
        parts.append("还需要您提供：" + "、".join(empty) + "。")
    if wrong:
        parts.append("请核对并重新提供：" + "；".join(wrong) + "。")
    return "".join(parts)
