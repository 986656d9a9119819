"""Ask a chat model for the fields the rules left empty, as one JSON object, and keep only what is valid and
was said. The chat object enforces the time budget (``agent.llm.RunnerChat``): this module sets none."""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Protocol

from langchain_core.messages import HumanMessage, SystemMessage

from corpus.schema import FormField
from agent.zh.width import to_halfwidth

_TYPE_HINT = {
    "text": "文本", "id_number": "18位身份证号", "phone": "手机号或固定电话", "date": "日期，YYYY-MM-DD",
    "enum": "选项", "address": "详细地址", "uscc": "18位统一社会信用代码", "money": "金额，单位元", "int": "整数",
}
_SYSTEM = ("你是政务服务表单信息抽取助手。只抽取用户明确说出的信息，不要猜测或编造；"
           "没提到的字段填 null。只输出一个 JSON 对象。")


class StreamingChat(Protocol):
    """A chat model that streams text chunks (or messages with ``content``): ``RunnerChat``, a LangChain model."""

    def stream(self, messages: list, **kwargs: Any) -> Iterable[Any]: ...


def json_schema_for(fields: list[FormField]) -> dict[str, Any]:
    """A JSON schema with one nullable string property per field (enums list their options)."""
    props: dict[str, Any] = {}
    for f in fields:
        prop: dict[str, Any] = {"type": ["string", "null"], "description": f.label}
        if f.options:
            prop["enum"] = [*f.options, None]
        props[f.key] = prop
    return {"type": "object", "properties": props}


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's answer (tolerates ```json fences and chatter)."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        raise ValueError("the model's answer has no JSON object")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    if not isinstance(obj, dict):
        raise ValueError("the model's answer is not a JSON object")
    return obj


def extraction_messages(wanted: list[FormField], texts: list[str]) -> list:
    lines = []
    for f in wanted:
        extra = f"，可选值：{'/'.join(f.options)}" if f.options else ""
        lines.append(f"- {f.key}：{f.label}（{_TYPE_HINT[f.type]}{extra}）")
    return [
        SystemMessage(content=_SYSTEM),
        HumanMessage(content="要填写的字段：\n" + "\n".join(lines) + "\n\n用户说的话：\n"
                     + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts))
                     + "\n\n请输出 JSON，键为上面的字段名。"),
    ]


def ask_for_fields(chat: StreamingChat, wanted: list[FormField], texts: list[str]) -> dict[str, Any]:
    """The model's values for ``wanted``; raises what the chat raises (a budget it ran out of, a failure)."""
    messages = extraction_messages(wanted, texts)
    try:
        content = _read(chat, messages, response_format={"type": "json_object", "schema": json_schema_for(wanted)})
    except TypeError:  # a backend without response_format: ask for JSON in words only
        content = _read(chat, messages)
    return parse_json_object(content)


def _read(chat: StreamingChat, messages: list, **kwargs: Any) -> str:
    parts = []
    for chunk in chat.stream(messages, **kwargs):
        text = chunk if isinstance(chunk, str) else getattr(chunk, "content", "")
        parts.append(text if isinstance(text, str) else str(text))
    return "".join(parts)


def grounded(f: FormField, raw: str, value: str, said: str, said_compact: str) -> bool:
    """An LLM value counts only if the user said it (dates, money and counts may be reworded)."""
    if f.type in ("date", "money", "int", "enum"):
        return True
    if f.type in ("id_number", "phone", "uscc"):
        digits = re.sub(r"[\s\-+]", "", to_halfwidth(value)).upper()
        return digits in said_compact or digits.removeprefix("86") in said_compact
    return re.sub(r"\s", "", to_halfwidth(raw)) in said
