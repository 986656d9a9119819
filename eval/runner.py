"""Play eval cases through the same assistant the API uses and score the last reply of each."""
from __future__ import annotations

import uuid
from typing import Callable, Iterable, Protocol

from agent.reply import Reply
from eval.cases import Case
from eval.metrics import Summary, summarize
from eval.scoring import Bundles, CaseResult, score_case, titles_match


class Responder(Protocol):
    def handle(self, message: str, session_id: str | None = None, channel: str = "web",
               region: str | None = None) -> Reply: ...


Search = Callable[[str, str | None], list[str]]
"""(query, region) -> ranked document titles, for retrieval recall of the target."""


def target_rank(search: Search | None, case: Case) -> int | None:
    """Retrieval rank of the target for one-message cases (a follow-up alone, or turns glued together
    across a topic switch, is no fair retrieval query)."""
    if search is None or not case.expect.target or case.expect.kind not in ("consult", "apply") or case.turns:
        return None
    for rank, title in enumerate(search(case.messages[0], case.region), start=1):
        if titles_match(title, case.expect.target):
            return rank
    return None


SignIn = Callable[[Responder, Case, str], "object | None"]
"""(assistant, case, session id) -> the prefill after signing the case's speaker in (eval.licences), or None."""


def run_case(responder: Responder, case: Case, search: Search | None = None,
             bundles: Bundles | None = None, sign_in: SignIn | None = None) -> CaseResult:
    session_id = f"eval-{case.id}-{uuid.uuid4().hex[:8]}"
    reply: Reply | None = None
    for message in case.messages:
        reply = responder.handle(message, session_id=session_id, channel=case.channel, region=case.region)
        session_id = reply.session_id
    assert reply is not None
    # True/False when the last turn's answer was phrased by the LLM (fell back or not); None otherwise.
    fallback = {"accepted": False, "rejected": True}.get(reply.lead or "")
    result = score_case(case, reply, target_rank(search, case), fallback, bundles)
    if sign_in is not None and case.expect.kind == "apply":
        # after scoring: what the conversation filled is judged as it was; the licences are measured apart
        signed = sign_in(responder, case, session_id)
        if signed is not None:
            result.licence_required_fields = signed.required
            result.licence_prefilled_fields = signed.prefilled
            result.licence_conflicts = signed.conflicts
            result.licence_missing = signed.missing
    return result


def run_cases(responder: Responder, cases: Iterable[Case], search: Search | None = None,
              progress: Callable[[CaseResult], None] | None = None,
              bundles: Bundles | None = None, sign_in: SignIn | None = None) -> tuple[list[CaseResult], Summary]:
    """``bundles``: 一件事/member pairs that count as one route when the answer holds the facts (``Bundles``)."""
    results = []
    for case in cases:
        result = run_case(responder, case, search, bundles, sign_in)
        results.append(result)
        if progress:
            progress(result)
    return results, summarize(results)
