"""Formatter, the last stage: the answer shaped for its channel."""
from __future__ import annotations

from agent.compose import Composed

class ChannelFormatter:
    """web/app: the answer as composed. hotline: a spoken suggested answer first, then key points and the checklist."""

    def run(self, channel: str, answer: str, composed: Composed | None) -> str:
        if channel != "hotline" or composed is None:
            return answer
        spoken = "。".join([*composed.evidence, composed.spoken] if composed.spoken else composed.evidence)
        parts = [f"【建议答复】{spoken}" if spoken else ""]
        points = [b for s, b in composed.blocks if s in ("time_limit", "fee", "places", "online", "phone")]
        if points:
            parts.append("【要点】\n" + "\n".join(f"- {p.splitlines()[0].lstrip('- ')}" for p in points))
        if composed.checklist:
            parts.append("【材料清单】\n" + "\n".join(f"□ {m}" for m in composed.checklist))
        parts.append("【详细答复】\n" + answer)
        return "\n\n".join(p for p in parts if p)
