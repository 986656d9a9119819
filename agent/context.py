"""An application in progress across turns: which guide a turn belongs to while a form is open.

A form stays open through a short aside (要多久, 在哪办: answered from the form's guide); personal data or 继续申请
goes back to it after another topic; a new topic is answered with the form kept and the user asked whether to
set it aside; only the user's own words (放下申请) or an application for another service drop it. Words are data
(``data/context.yaml``); the state is the session's form, passed in."""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from agent.forms.numbers import NumberReader
from agent.forms.parts import PartReader
from agent.forms.vocabulary import default_vocabulary
from agent.router import RouteDecision, RouteReason
from corpus.datafile import load_data_file
from index.text import normalize

if TYPE_CHECKING:
    from agent.evidence import EvidenceFinder
    from agent.router import Router
    from agent.session import SessionState
    from agent.turn import Understood

DATA_PATH = Path(__file__).parent / "data" / "context.yaml"


class ContextWords(BaseModel):
    """``data/context.yaml``."""

    model_config = ConfigDict(extra="forbid")

    aside_cues: list[str] = Field(min_length=1)
    resume_cues: list[str] = Field(min_length=1)
    drop_cues: list[str] = Field(min_length=1)
    staff_words: list[str] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path = DATA_PATH) -> "ContextWords":
        return load_data_file(path, cls)


class FormTurn(str, Enum):
    """What a turn does to the application in progress."""

    NONE = "no form in progress"
    ON = "on the form's guide"         # the router stayed on it
    ASIDE = "a question about the form's service"
    RESUME = "back to the form set aside"
    SWITCH = "another topic: the form is kept, the user asked"
    REPLACE = "an application for another service"
    DROP = "the user lets the form go"


@dataclass
class Steered:
    decision: RouteDecision
    turn: FormTurn


class FormContext:
    def __init__(self, router: "Router", evidence: "EvidenceFinder", words: ContextWords | None = None):
        self.router = router
        self.evidence = evidence
        self.words = words or ContextWords.load()
        self._aside = [normalize(w) for w in self.words.aside_cues]
        self._resume = [normalize(w) for w in self.words.resume_cues]
        self._drop = [normalize(w) for w in self.words.drop_cues]
        # a correction (不对，是… / 名字写错了) goes on with the form; the filler's own cue words
        form_words = default_vocabulary().words
        self._correct = [normalize(w) for w in form_words.correction_cues]
        # so does a part of a number said on its own (电话最后一位是5，不是8), with no cue word
        self._parts = PartReader(form_words, NumberReader(form_words))

    def in_progress(self, session: "SessionState") -> bool:
        """A form with something the user said in it (a blank or derived-only form holds nothing to lose)."""
        form = session.form
        return form is not None and any(f.value and f.source not in (None, "derived") for f in form.fields)

    def continues(self, seen: "Understood", session: "SessionState") -> bool:
        """继续申请, or a correction (刚才名字写错了，是…; 身份证最后一位是X), with a form in progress: the application
        goes on."""
        text = seen.msg.text
        return self.in_progress(session) and not self.router.named_docs(seen.msg) \
            and (any(w in text for w in [*self._resume, *self._correct]) or bool(self._parts.find(seen.msg.raw)))

    def drops(self, seen: "Understood", session: "SessionState") -> bool:
        return self.in_progress(session) and any(w in seen.msg.text for w in self._drop)

    def steer(self, seen: "Understood", session: "SessionState", decision: RouteDecision) -> Steered:
        """The decision this turn goes on with, and what it does to the form in progress."""
        if not self.in_progress(session):
            return Steered(decision, FormTurn.NONE)
        guide = session.form.guide_id
        route = decision.route
        same = route is not None and (route.id == guide or self.router.related(guide, route.id))
        msg, intent = seen.msg, seen.intent.name
        named = [d for d in self.router.named_docs(msg) if d != guide and not self.router.related(guide, d)]
        if same and not named:
            return Steered(decision, FormTurn.ON)
        back = self.router.route_of(guide)
        if back is None:
            return Steered(decision, FormTurn.NONE)
        back_to_form = replace(decision, route=back, clarify=None, no_match=False, followup=True, switched=False,
                               reason=RouteReason.FOLLOWUP, faq=None)
        if intent == "apply" and not named and (self.continues(seen, session) or msg.has_personal_data):
            return Steered(back_to_form, FormTurn.RESUME)
        if intent == "apply" and route is not None:
            return Steered(decision, FormTurn.REPLACE)
        if intent == "consult" and not named and not msg.switched and self._asks_about(msg):
            return Steered(back_to_form, FormTurn.ASIDE)
        return Steered(decision, FormTurn.SWITCH if route is not None else FormTurn.NONE)

    def _asks_about(self, msg) -> bool:
        """A detail question, an aspect of a guide (materials, time, place) or an aside cue."""
        text = msg.text
        return bool(msg.aspects) or self.evidence.is_detail(text, self.evidence.cues(text)) \
            or any(w in text for w in self._aside)
