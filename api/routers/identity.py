"""免填写 / 免提交: a session's verified identity from the city's login (统一身份认证), whose electronic licences fill
the certified fields of its forms. Only the session's secret holder attaches, reads or removes it; it lives in the
session's encrypted state and is erased with the session. Nothing of it is logged."""
from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, Depends, Request

from agent.forms.identity import IdentityRejected
from agent.forms.licences import DemoLicences, HeldLicences
from api.deps import get_runtime, rate_limited, require_database
from api.errors import ApiError
from api.routers.sessions import SESSION_ERRORS
from api.runtime import Runtime
from api.schemas import (DemoAssertion, DemoLoginRequest, DemoPerson, IdentityAttached, IdentityRequest, IdentityView,
                         LicencesInfo, LoginNonceView)
from api.session_access import check_session_secret

router = APIRouter(prefix="/v1", tags=["identity"], dependencies=[Depends(rate_limited), Depends(require_database)])
log = logging.getLogger("daoban.api")
NOT_CONFIGURED = {404: {"description": "no licence platform is configured (licences.provider = none)"}}


def _identities(rt: Runtime):
    if rt.identities is None:
        raise ApiError(404, "licences_not_configured", "本服务未接入统一身份认证和电子证照")
    return rt.identities


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    hidden = max(1, len(value) - keep_start - keep_end)
    return value[:keep_start] + "*" * hidden + (value[-keep_end:] if keep_end else "")


def identity_view(held: HeldLicences) -> IdentityView:
    who = held.identity
    return IdentityView(provider=who.provider, name_masked=_mask(who.name, 1, 0),
                        id_number_masked=_mask(who.id_number, 3, 4),
                        licences=list(dict.fromkeys(lc.licence for lc in held.licences)),
                        verified_at=dt.datetime.fromtimestamp(held.verified_at, dt.timezone.utc))


@router.get("/licences", response_model=LicencesInfo, summary="Whether a login and licence platform is configured")
def licences_info(rt: Runtime = Depends(get_runtime)):
    return LicencesInfo(enabled=rt.licences is not None, demo=isinstance(rt.licences, DemoLicences))


@router.post("/sessions/{session_id}/identity/nonce", response_model=LoginNonceView,
             responses={**SESSION_ERRORS, **NOT_CONFIGURED},
             summary="A login nonce for this session: the city's login signs it into the identity assertion")
def login_nonce(session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    identities = _identities(rt)
    check_session_secret(rt, request, session_id)
    nonce = identities.challenge(session_id)
    return LoginNonceView(nonce=nonce.value, expires_at=dt.datetime.fromtimestamp(nonce.expires_at, dt.timezone.utc))


@router.post("/sessions/{session_id}/identity", response_model=IdentityAttached,
             responses={**SESSION_ERRORS, **NOT_CONFIGURED,
                        409: {"description": "an assertion not made for this session's nonce, used already, or "
                                             "another person than the one signed in"},
                        422: {"description": "an assertion whose signature does not verify or that has expired"},
                        503: {"description": "the licence platform did not answer"}},
             summary="Attach the verified identity of the city's login (needs the session's X-Session-Token); the "
                     "open form is refilled from its electronic licences")
def attach_identity(session_id: str, body: IdentityRequest, request: Request, rt: Runtime = Depends(get_runtime)):
    identities = _identities(rt)
    check_session_secret(rt, request, session_id)
    try:
        held = identities.attach(session_id, body.assertion)
    except IdentityRejected as exc:
        log.info("identity assertion refused: %s", exc.code)
        raise ApiError(exc.status, exc.code, exc.message) from None
    log.info("identity attached (provider %s, %d licences)", held.identity.provider, len(held.licences))
    return IdentityAttached(identity=identity_view(held), form=_refill(rt, session_id))


def _refill(rt: Runtime, session_id: str):
    """The open draft with the licences applied, kept: an edit with no change does it under the session's lock."""
    state = rt.session_store.load(session_id)
    if state is None or state.form is None:
        return None
    guide = rt.corpus().guide_by_form(state.form.form_id)
    return rt.drafts().edit(session_id, guide, {}) if guide is not None else None


@router.get("/sessions/{session_id}/identity", response_model=IdentityView,
            responses={**SESSION_ERRORS, 404: {"description": "no identity attached, or no platform configured"}},
            summary="The session's verified identity, masked (needs the session's X-Session-Token)")
def get_identity(session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    identities = _identities(rt)
    check_session_secret(rt, request, session_id)
    held = identities.held(session_id)
    if held is None:
        raise ApiError(404, "identity_not_attached", "本会话尚未登录")
    return identity_view(held)


@router.delete("/sessions/{session_id}/identity", status_code=204, responses={**SESSION_ERRORS, **NOT_CONFIGURED},
               summary="Sign out: the identity and every value its licences filled leave the session")
def detach_identity(session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    identities = _identities(rt)
    check_session_secret(rt, request, session_id)
    identities.detach(session_id)


# -- the demo platform's login (licences.provider = demo only) -------------------------------------------------

def _demo(rt: Runtime) -> DemoLicences:
    if not isinstance(rt.licences, DemoLicences):
        raise ApiError(404, "demo_login_off", "演示登录未开启")
    return rt.licences


@router.get("/licences/demo/people", response_model=list[DemoPerson],
            responses={404: {"description": "the demo platform is not configured"}},
            summary="Demo only: the sample people the demo login signs in as")
def demo_people(rt: Runtime = Depends(get_runtime)):
    return [DemoPerson(index=i, name=p.name) for i, p in enumerate(_demo(rt).people())]


@router.post("/licences/demo/login", response_model=DemoAssertion,
             responses={404: {"description": "the demo platform is not configured, or no such person"}},
             summary="Demo only: what a city's login returns, an assertion signed for a session's nonce")
def demo_login(body: DemoLoginRequest, rt: Runtime = Depends(get_runtime)):
    demo = _demo(rt)
    people = demo.people()
    if body.person >= len(people):
        raise ApiError(404, "demo_person_not_found", "没有这位演示办事人")
    return DemoAssertion(assertion=demo.assertion(people[body.person], ttl_s=300, nonce=body.nonce))
