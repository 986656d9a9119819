"""A daoban server with voice input configured: the real API, index and corpus of tests/conftest_api.py, its ASR
server the scripted one of tests/scripted_asr.py. Imported explicitly by the voice tests (not a conftest plugin);
started once per run, shared by the API and the browser tests."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from conftest_api import Server, base_env, build_test_index, make_corpus
from scripted_asr import ScriptedAsrServer

ASR_KEY = "test-asr-key"  # what daoban must send the ASR server as its Bearer key
MAX_SECONDS = 4  # short, so the widget's stop at the limit is seen within the test
MAX_BYTES = 200_000  # 6 s of 16 kHz mono 16-bit: a 4 s clip fits, a long 48 kHz one does not
TIMEOUT_S = 3
RATE_LIMIT = 20  # clips per address and minute


@dataclass
class VoiceStack:
    server: Server
    asr: ScriptedAsrServer


_stacks: dict[str, VoiceStack] = {}


@pytest.fixture(scope="session")
def voice_stack(tmp_path_factory):
    """Session-scoped and imported by two modules (two fixture definitions): the first to run starts the stack and
    stops it at the end of the run, the other reuses it."""
    if "voice" in _stacks:
        yield _stacks["voice"]
        return
    tmp = tmp_path_factory.mktemp("api-voice")
    asr = ScriptedAsrServer()
    env = base_env(tmp, make_corpus(tmp / "corpus"), DAOBAN_ASR__BASE_URL=asr.url, DAOBAN_ASR__MODEL="sensevoice",
                   DAOBAN_ASR__API_KEY=ASR_KEY, DAOBAN_ASR__MAX_SECONDS=str(MAX_SECONDS),
                   DAOBAN_ASR__MAX_BYTES=str(MAX_BYTES), DAOBAN_ASR__TIMEOUT_S=str(TIMEOUT_S),
                   DAOBAN_ASR__RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT))
    build_test_index(env)
    server = Server(env=env, log_path=tmp / "server.log")
    try:
        server.start()
        _stacks["voice"] = stack = VoiceStack(server, asr)
        yield stack
    finally:
        _stacks.pop("voice", None)
        server.kill()
        asr.close()
