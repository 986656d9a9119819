"""Voice questions (一句话): a short recorded clip in, its transcript out, for the speaker to check and send."""
from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from api.asr import WAV_TYPES, AsrStatus, ClipError, Transcriber, Transcript
from api.deps import client_address, get_runtime, get_settings, key_role, rate_limited, require_database, too_many
from api.errors import ApiError, ErrorBody
from api.runtime import Runtime
from api.session_access import check_session
from daoban.settings import Settings

router = APIRouter(prefix="/v1", tags=["asr"])
# Multipart overhead over the clip itself (boundaries, part headers, the session id): the body limit for this path.
FORM_OVERHEAD = 16_000


def get_transcriber(request: Request) -> Transcriber:
    transcriber: Transcriber | None = request.app.state.transcriber
    if transcriber is None:
        raise ApiError(503, "asr_unavailable", "语音输入未开通（未配置语音识别服务），请直接输入文字")
    return transcriber


@router.get("/asr", response_model=AsrStatus, summary="Whether voice input is available, and its limits "
                                                      "(the widget shows its microphone only when it is)")
def asr_status(request: Request, settings: Settings = Depends(get_settings)):
    return AsrStatus(available=request.app.state.transcriber is not None, max_seconds=settings.asr.max_seconds,
                     max_bytes=settings.asr.max_bytes, formats=sorted(WAV_TYPES))


def _error(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


@router.post("/asr", response_model=Transcript, dependencies=[Depends(rate_limited), Depends(require_database)],
             summary="Transcribe a short voice clip (multipart `file`, WAV); needs the session's X-Session-Token "
                     "with `session_id`, or a hotline key",
             description="The clip goes to the configured OpenAI-compatible `/audio/transcriptions` server. The "
                         "transcript comes back as heard (not masked: it is the speaker's own words, to check and "
                         "edit before sending them to `/v1/chat`); neither audio nor text is stored or logged.",
             responses={401: _error("no session_id and no hotline key"),
                        403: _error("a session_id without its X-Session-Token"),
                        413: _error("clip larger than asr.max_bytes or longer than asr.max_seconds"),
                        415: _error("not a WAV clip"), 422: _error("not a readable WAV, or empty"),
                        429: _error("too many clips from this address (asr.rate_limit_per_minute)"),
                        502: _error("the ASR server failed or is unreachable"),
                        503: _error("no ASR server is configured"), 504: _error("the ASR server timed out")})
def transcribe(request: Request, file: UploadFile = File(description="the clip: audio/wav (PCM; 16 kHz mono is best)"),
               session_id: str | None = Form(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$"),
               rt: Runtime = Depends(get_runtime)):
    transcriber = get_transcriber(request)
    if key_role(request, rt.settings) != "hotline":  # a 12345 agent may transcribe a caller's clip
        if not session_id:
            raise ApiError(401, "session_required",
                           "语音识别需要会话（session_id 与 X-Session-Token），或 12345 坐席密钥（X-API-Key）")
        check_session(rt, request, session_id)
    wait = request.app.state.asr_limiter.check(client_address(request))
    if wait is not None:
        too_many(wait, "语音识别请求过于频繁")
    data = file.file.read(rt.settings.asr.max_bytes + 1)  # one byte more tells "too large"
    try:
        return transcriber.transcribe(data, file.content_type)
    except ClipError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
