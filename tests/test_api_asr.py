"""POST /v1/asr over real HTTP: a real daoban server forwarding to the scripted ASR server of tests/scripted_asr.py."""
from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.asr import ClipError, clip_seconds
from conftest_api import HOTLINE_KEY, STAFF_KEY, api_server, new_session  # noqa: F401
from conftest_asr import ASR_KEY, MAX_BYTES, MAX_SECONDS, RATE_LIMIT, TIMEOUT_S, voice_stack  # noqa: F401
from daoban.settings import ASRSettings
from scripted_asr import wav_bytes

pytestmark = pytest.mark.slow
ON_SQLITE = pytest.mark.parametrize("api_server", ["sqlite"], indirect=True)


def _clip(data: bytes, content_type: str = "audio/wav") -> dict:
    return {"file": ("voice.wav", data, content_type)}


def _post(http: httpx.Client, session: tuple[str, dict] | None, data: bytes, content_type: str = "audio/wav",
          **kw) -> httpx.Response:
    if session is None:
        return http.post("/v1/asr", files=_clip(data, content_type), **kw)
    session_id, headers = session
    return http.post("/v1/asr", files=_clip(data, content_type), data={"session_id": session_id},
                     headers={**headers, **kw.pop("headers", {})}, **kw)


@ON_SQLITE
def test_without_an_asr_server_voice_is_off_and_says_so(api_server):
    with api_server.client() as http:
        status = http.get("/v1/asr").json()
        assert status["available"] is False
        r = _post(http, new_session(http), wav_bytes(1.0))
    assert r.status_code == 503
    assert r.json()["code"] == "asr_unavailable" and "未配置" in r.json()["message"]


def test_a_clip_comes_back_as_its_transcript_unmasked_and_unrecorded(voice_stack):
    server, asr = voice_stack.server, voice_stack.asr
    said = "我的电话是13912345678，新身儿出生一件事要带什么"
    asr.transcript = said
    clip = wav_bytes(1.5)
    with server.client() as http:
        status = http.get("/v1/asr").json()
        assert status == {"available": True, "max_seconds": MAX_SECONDS, "max_bytes": MAX_BYTES,
                          "formats": ["audio/vnd.wave", "audio/wav", "audio/wave", "audio/x-wav"]}
        before = len(asr.uploads)
        r = _post(http, new_session(http), clip)
        assert r.status_code == 200, r.text
        # the speaker's own words, to check and edit: not masked
        assert r.json() == {"text": said, "duration_s": 1.5}
        upload = asr.uploads[before]
        assert upload.audio == clip and upload.content_type == "audio/wav" and upload.filename.endswith(".wav")
        assert upload.fields == {"model": "sensevoice", "language": "zh", "response_format": "json"}
        assert upload.authorization == f"Bearer {ASR_KEY}"
        # SenseVoice's language, emotion and event tags are not words
        asr.transcript = "<|zh|><|NEUTRAL|><|Speech|><|withitn|>公积金怎么提取"
        assert _post(http, new_session(http), clip).json()["text"] == "公积金怎么提取"
    # neither a log line nor the database holds what was said
    assert "13912345678" not in server.log() and "新身儿" not in server.log()
    assert "13912345678" not in server.all_text() and "新身儿" not in server.all_text()


def test_a_session_secret_or_a_hotline_key_is_needed(voice_stack):
    server, asr = voice_stack.server, voice_stack.asr
    asr.transcript = "社保卡丢了怎么补"
    clip = wav_bytes(1.0)
    with server.client() as http:
        r = _post(http, None, clip)
        assert r.status_code == 401 and r.json()["code"] == "session_required"
        session_id, _ = new_session(http)
        r = _post(http, (session_id, {}), clip)  # another's session id without its secret
        assert r.status_code == 403
        r = _post(http, (session_id, {"X-Session-Token": "forged"}), clip)
        assert r.status_code == 403
        assert _post(http, None, clip, headers={"X-API-Key": STAFF_KEY}).status_code == 401
        r = _post(http, None, clip, headers={"X-API-Key": HOTLINE_KEY})  # a 12345 agent, no citizen session
        assert r.status_code == 200 and r.json()["text"] == "社保卡丢了怎么补"


def test_clips_out_of_bounds_are_refused_before_forwarding(voice_stack):
    server, asr = voice_stack.server, voice_stack.asr
    before = len(asr.uploads)
    with server.client() as http:
        session = new_session(http)
        cases = [
            # (clip, content type, status, code)
            (wav_bytes(MAX_SECONDS + 1.0), "audio/wav", 413, "audio_too_long"),
            (wav_bytes(6.5), "audio/wav", 413, "audio_too_large"),  # over max_bytes, within the body limit
            (wav_bytes(40.0), "audio/wav", 413, "payload_too_large"),  # over the path's body limit: never read
            (b"hello", "text/plain", 415, "unsupported_media_type"),
            (wav_bytes(1.0), "audio/webm", 415, "unsupported_audio"),
            (b"RIFF\x00\x00\x00\x00WAVEnot really", "audio/wav", 422, "invalid_audio"),
            (wav_bytes(0.0), "audio/wav", 422, "empty_audio"),
        ]
        for clip, content_type, status, code in cases:
            r = _post(http, session, clip, content_type)
            assert (r.status_code, r.json()["code"]) == (status, code), (content_type, len(clip), r.text)
            assert r.json()["message"]  # a clear message to show
        assert "4 秒" in _post(http, session, wav_bytes(MAX_SECONDS + 1.0)).json()["message"]
        r = http.post("/v1/asr", data={"session_id": session[0]}, headers=session[1])  # no file at all
        assert r.status_code == 422
    assert len(asr.uploads) == before  # none reached the ASR server


def test_a_failing_slow_or_absent_asr_server_is_a_clear_502_or_504(voice_stack):
    server, asr = voice_stack.server, voice_stack.asr
    asr.transcript = "营业执照怎么办"
    clip = wav_bytes(1.0)
    with server.client() as http:
        session = new_session(http)
        try:
            asr.status = 500
            r = _post(http, session, clip)
            assert (r.status_code, r.json()["code"]) == (502, "asr_failed")
            asr.status, asr.garbled = 200, True
            r = _post(http, session, clip)
            assert (r.status_code, r.json()["code"]) == (502, "asr_bad_answer")
            asr.garbled, asr.delay_s = False, TIMEOUT_S + 2
            r = _post(http, session, clip)
            assert (r.status_code, r.json()["code"]) == (504, "asr_timeout")
            assert r.elapsed.total_seconds() < TIMEOUT_S + 1.5  # the user is not kept waiting past the budget
            asr.delay_s = 0.0
            asr.stop()
            r = _post(http, session, clip)
            assert (r.status_code, r.json()["code"]) == (502, "asr_unreachable")
        finally:
            asr.status, asr.garbled, asr.delay_s = 200, False, 0.0
            asr.start()
        r = _post(http, session, clip)  # back up: served again
        assert r.status_code == 200 and r.json()["text"] == "营业执照怎么办"


def test_clips_are_rate_limited_per_address(voice_stack):
    server = voice_stack.server
    # from an address of its own on the loopback, so the other tests' clips do not count
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=server.url, transport=transport, timeout=60) as http:
        session = new_session(http)
        for _ in range(RATE_LIMIT):  # refused clips count too: each attempt is a cost
            assert _post(http, session, b"x", "text/plain").status_code == 415
        r = _post(http, session, wav_bytes(1.0))
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
    with server.client() as http:  # another address is still served
        assert _post(http, new_session(http), wav_bytes(1.0)).status_code == 200


_WAV = wav_bytes(0.5)


@st.composite
def _damaged_wav(draw) -> bytes:
    """A real clip with a few bytes changed, cut short or lengthened: headers that lie in every way."""
    data = bytearray(_WAV)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, 63))
        data[at] = draw(st.integers(0, 255))
    return bytes(data[:draw(st.integers(0, len(data)))]) + draw(st.binary(max_size=64))


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(st.binary(max_size=256), _damaged_wav()),
       content_type=st.one_of(st.sampled_from(["audio/wav", "audio/x-wav; codecs=1", "AUDIO/WAVE", "audio/ogg"]),
                              st.text(max_size=24), st.none()))
def test_any_upload_is_a_length_or_a_clear_refusal(data, content_type):
    """Whatever bytes and type arrive, the check answers a length within the limits or a 4xx with a message,
    never an exception of its own (which would be a 500)."""
    limits = ASRSettings(max_bytes=20_000, max_seconds=4)
    try:
        seconds = clip_seconds(data, content_type, limits)
    except ClipError as exc:
        assert exc.status in (413, 415, 422) and exc.message
    else:
        assert 0 < seconds <= 4
