"""One owner of a session's verified identity: the city's login (爱山东, 统一身份认证) signs an assertion, the session
keeps who it proves and the licences they may use, in its state (encrypted by the store), under the session's lock.

Replay: the session first asks for a login nonce, the portal signs it into the assertion (as OpenID Connect's
``nonce``), and an assertion is accepted only by the session holding that nonce, once. A copied assertion fails in
any other session and a second time in its own."""
from __future__ import annotations

import hmac
import secrets
import time
from contextlib import AbstractContextManager
from typing import Callable, Protocol

from agent.forms.licences import PLATFORM_SOURCES, HeldLicences, Licence, VerifiedIdentity
from agent.session import LoginNonce, SessionState, SessionStore


class LicenceSource(Protocol):
    """A city's platform: its IdentityProvider and LicenceProvider in one object."""

    def verify(self, assertion: str) -> VerifiedIdentity | None: ...

    def licences(self, identity: VerifiedIdentity) -> list[Licence]: ...


class IdentityRejected(Exception):
    """An assertion the session does not accept; nothing was changed."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SessionIdentities:
    def __init__(self, sessions: SessionStore, lock_for: Callable[[str], AbstractContextManager],
                 provider: LicenceSource, nonce_ttl_s: float = 600, clock: Callable[[], float] = time.time):
        self.sessions = sessions
        self.lock_for = lock_for  # the session's turn lock: a chat turn saving the state never drops an identity
        self.provider = provider
        self.nonce_ttl_s = nonce_ttl_s
        self.clock = clock

    def challenge(self, session_id: str) -> LoginNonce:
        """A new login nonce for this session (the previous one stops working)."""
        with self.lock_for(session_id):
            state = self.sessions.load(session_id) or SessionState(session_id=session_id)
            state.login_nonce = LoginNonce(value=secrets.token_urlsafe(24), expires_at=self.clock() + self.nonce_ttl_s)
            self.sessions.save(state)
            return state.login_nonce

    def attach(self, session_id: str, assertion: str) -> HeldLicences:
        """Verify the assertion and keep the identity and its licences; raises ``IdentityRejected`` (and changes
        nothing) for a bad or expired assertion, one not made for this session's nonce or already used, or another
        person than the one already signed in."""
        with self.lock_for(session_id):
            state = self.sessions.load(session_id) or SessionState(session_id=session_id)
            try:
                identity = self.provider.verify(assertion)
            except Exception as exc:  # noqa: BLE001 - a city's adapter that cannot reach its key server
                raise IdentityRejected(503, "licences_unavailable", "统一身份认证服务暂时不可用，请稍后再试") from exc
            if identity is None:
                raise IdentityRejected(422, "assertion_invalid", "身份凭证无效或已过期，请重新登录后再试")
            pending = state.login_nonce
            if pending is None or pending.expires_at < self.clock() or identity.nonce is None \
                    or not hmac.compare_digest(pending.value, identity.nonce):
                raise IdentityRejected(409, "assertion_not_for_session",
                                       "该身份凭证不是为本会话签发的或已使用过，请重新登录")
            identity = identity.model_copy(update={"nonce": None})
            if state.identity is not None and state.identity.identity.id_number != identity.id_number:
                raise IdentityRejected(409, "identity_already_attached", "本会话已登录另一位办事人，请先退出登录")
            try:
                licences = self.provider.licences(identity)
            except Exception as exc:  # noqa: BLE001 - the city's platform is down: say so, keep the nonce
                raise IdentityRejected(503, "licences_unavailable", "电子证照服务暂时不可用，请稍后再试") from exc
            state.login_nonce = None
            state.identity = HeldLicences(identity=identity, licences=licences, verified_at=self.clock())
            self.sessions.save(state)
            return state.identity

    def detach(self, session_id: str) -> bool:
        """Sign out: the identity and every value its licences filled leave the session; False if none was held."""
        with self.lock_for(session_id):
            state = self.sessions.load(session_id)
            if state is None or state.identity is None:
                return False
            state.identity = None
            if state.form is not None:
                fields = [f.model_copy(update={"value": None, "source": None, "licence": None})
                          if f.source in PLATFORM_SOURCES else f for f in state.form.fields]
                missing = state.form.missing + [f.key for f in fields if f.required and not f.value
                                                and f.key not in state.form.missing]
                state.form = state.form.model_copy(update={"fields": fields, "missing": missing, "conflicts": [],
                                                           "exempt_materials": []})
            self.sessions.save(state)
            return True

    def held(self, session_id: str) -> HeldLicences | None:
        state = self.sessions.load(session_id)
        return state.identity if state is not None else None
