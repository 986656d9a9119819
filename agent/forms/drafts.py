"""One owner of a session's form draft: the session state (``SessionState.form``).

Values said in chat (the assistant's prefill) and values typed into the form land in the same place, under the
same per-session lock as a chat turn, so the later of the two is what the draft holds: a chat turn reads the
typed values as the previous state, and an edit is applied to what chat filled in."""
from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Callable

from agent.forms.filler import FormFiller
from agent.forms.licences import PLATFORM_SOURCES, apply_licences, decline
from agent.reply import FormFieldValue, FormState
from agent.session import SessionState, SessionStore

if TYPE_CHECKING:
    from corpus.schema import MatterGuide, Scenario

    Guide = Scenario | MatterGuide


def blank_form(guide: "Guide", filler: FormFiller) -> FormState:
    """The guide's form with nothing filled in: fields shown whatever the 情形; a field under a choice of the form
    itself (代办人 fields under 代他人办理) shown, not required, until the choice is made."""
    return filler.apply_edits(guide.application_form, _empty(guide, filler), {})


def _empty(guide: "Guide", filler: FormFiller) -> FormState:
    form = guide.application_form
    roles = filler.roles
    fields = [FormFieldValue(key=f.key, label=f.label, type=f.type, role=roles.of_field(f),
                             required=f.required)
              for f in form.fields if f.when is None]
    return FormState(form_id=form.id, guide_id=guide.id, guide_kind=guide.kind, subject_role=form.subject_role,
                     fields=fields, missing=[f.key for f in form.fields if f.required and f.when is None])


class FormDrafts:
    """Read and edit the draft of a session through its store, one writer at a time per session."""

    def __init__(self, sessions: SessionStore, lock_for: Callable[[str], AbstractContextManager]):
        self.sessions = sessions
        self.lock_for = lock_for  # the assistant's per-session lock: a chat turn and an edit never interleave
        self.filler = FormFiller()  # rules only: the user's own edits are validated, never read by an LLM

    def get(self, session_id: str, guide: "Guide") -> FormState:
        """The session's draft of the guide's form, else a blank one; with a verified identity, what its licences
        certify filled in (免填写)."""
        state = self.sessions.load(session_id)
        if state is not None and state.form is not None and state.form.form_id == guide.application_form.id:
            form = state.form
        else:
            form = blank_form(guide, self.filler)
        return apply_licences(guide, form, state.identity if state is not None else None)

    def answers(self, session_id: str) -> dict[str, str]:
        """The session's 情形 answers (from chat)."""
        state = self.sessions.load(session_id)
        return dict(state.answers) if state is not None else {}

    def edit(self, session_id: str, guide: "Guide", values: dict[str, str | None],
             today: dt.date | None = None) -> FormState:
        """Apply the user's edits (validated, source ``user``) and keep the result as the session's draft."""
        with self.lock_for(session_id):
            state = self.sessions.load(session_id) or SessionState(session_id=session_id)
            form = state.form if state.form is not None and state.form.form_id == guide.application_form.id \
                else blank_form(guide, self.filler)
            form = apply_licences(guide, form, state.identity)
            cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
            # A platform value (certified, or saved in the account) sent back unchanged (the whole form posted on
            # submit) stays the platform's; one changed or cleared is the user's from now on.
            certified = {f.key: f.value for f in form.fields if f.source in PLATFORM_SOURCES}
            cleaned = {k: v for k, v in cleaned.items() if k not in certified or (v or "") != certified[k]}
            taken = [k for k in cleaned if k in certified]
            # 情形 answers come from chat; a session that never chatted keeps the form's own gating
            answers = state.answers if state.turns else None
            edited = self.filler.apply_edits(guide.application_form, form, cleaned, answers=answers, today=today)
            state.form = apply_licences(guide, edited, state.identity, previous=decline(form, taken))
            self.sessions.save(state)
            return state.form
