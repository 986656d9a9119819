"""What the citizen reads about a form."""
from __future__ import annotations

from agent.reply import FormFieldValue, FormState


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


def masked_value(field: FormFieldValue) -> str:
    """A personal value shown in part (王*, 370***********1234, 138****5678), for text that leaves the form."""
    value = field.value or ""
    if field.type in ("id_number", "phone", "uscc") and len(value) > 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if field.type in ("text", "address", "date"):
        return value[:1] + "*" * max(1, len(value) - 1)
    return value


def corrections(before: FormState | None, after: FormState) -> list[str]:
    """Each field of the same form whose value the user had given and now changed: label and new value, masked."""
    if before is None or before.form_id != after.form_id:
        return []
    old = {f.key: f.value for f in before.fields if f.value and f.source not in (None, "derived")}
    return [f"{f.label} {masked_value(f)}" for f in after.fields
            if f.key in old and f.value and f.value != old[f.key] and f.source not in (None, "derived")]
