"""What one turn carries from stage to stage. Per-turn outcomes live here (and on the ``Reply``), never on the
shared ``Assistant``: concurrent sessions must not see each other's."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent.intent import IntentResult
from agent.normalize import Message
from agent.session import SessionState

if TYPE_CHECKING:
    from corpus.schema import Region
    from index.types import Hit

ChannelName = Literal["web", "app", "hotline"]


@dataclass
class Understood:
    """The message as the stages before routing read it."""

    msg: Message
    intent: IntentResult
    meta: bool = False                  # it talks to the assistant about itself (its prompt, a role)
    meta_free: Message | None = None    # then: the message without those words (None: nothing else)
    refusal: str | None = None          # the guard refused it: what the user reads
    hits: list["Hit"] | None = None     # retrieval already run on ``msg`` this turn (the router reuses it)


@dataclass
class TurnContext:
    session: SessionState
    channel: ChannelName
    region: str | None                  # the request's, else the session's, else the deployment default
    region_doc: "Region | None"
    stats: Counter = field(default_factory=Counter)
