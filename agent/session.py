"""Conversation state kept between turns, and where it is stored.

The pipeline loads a ``SessionState`` at the start of a turn and saves it at the
end. ``SessionStore`` is a Protocol so the API can keep sessions in its database;
``InMemorySessionStore`` serves the CLI, tests and the eval harness."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from agent.forms.licences import HeldLicences
from agent.reply import ClarifyOption, FormState, Route


class PendingClarify(BaseModel):
    """A question we asked and whose answer the next message may give."""

    kind: Literal["route", "situation"]
    question: str
    question_id: str | None = None          # 情形 question id (kind situation)
    options: list[ClarifyOption] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)  # kind route: the candidate routes, same order as options
    intent: str | None = None                # the intent of the message that led to the question


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    text: str
    summary: str | None = None  # for the assistant: intent / route of the reply


class LoginNonce(BaseModel):
    """The nonce a session asked the city's login to sign into its identity assertion: used once, then gone."""

    value: str
    expires_at: float


class SessionState(BaseModel):
    session_id: str
    region: str | None = None
    route: Route | None = None
    answers: dict[str, str] = Field(default_factory=dict, description="情形 answers {question_id: option_id}")
    pending: PendingClarify | None = None
    form: FormState | None = None
    turns: list[Turn] = Field(default_factory=list)
    failures: int = Field(default=0, description="consecutive turns we could not help with")
    # The verified identity (统一身份认证) and its electronic licences: personal data, only in this encrypted state.
    identity: HeldLicences | None = None
    login_nonce: LoginNonce | None = None
    applying: bool = Field(default=False, description="personal data was given for an application whose service is "
                           "not known yet: the turn that names the service opens its form with it")
    updated_at: float = Field(default_factory=time.time)

    def user_texts(self, route_id: str | None = None) -> list[str]:
        """What the user said, oldest first (the form filler reads all of it)."""
        return [t.text for t in self.turns if t.role == "user"]


@runtime_checkable
class SessionStore(Protocol):
    def load(self, session_id: str) -> SessionState | None: ...

    def save(self, state: SessionState) -> None: ...


class InMemorySessionStore:
    """Process-local store with an LRU bound, safe across threads."""

    def __init__(self, max_sessions: int = 10_000):
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.max_sessions = max_sessions

    def load(self, session_id: str) -> SessionState | None:
        with self._lock:
            raw = self._data.get(session_id)
            if raw is None:
                return None
            self._data.move_to_end(session_id)
        # Stored as JSON so a caller mutating a loaded state never changes the stored one.
        return SessionState.model_validate_json(raw)

    def save(self, state: SessionState) -> None:
        state.updated_at = time.time()
        raw = state.model_dump_json()
        with self._lock:
            self._data[state.session_id] = raw
            self._data.move_to_end(state.session_id)
            while len(self._data) > self.max_sessions:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
