"""Speech to text for a voice question: a short WAV clip checked here (type, size, length), then forwarded to the
configured OpenAI-compatible ``/audio/transcriptions`` server (FunASR, SenseVoice, whisper.cpp).

Neither the audio nor the transcript is logged or stored: the transcript goes back to its speaker, who reads and
edits it before sending it as a typed message (the same pipeline, homophone reading included)."""
from __future__ import annotations

import io
import logging
import re
import struct
import time
import wave

import httpx
from pydantic import BaseModel, Field

from daoban.settings import ASRSettings

log = logging.getLogger("daoban.api")

# WAV only: whisper.cpp's server reads nothing else unless built with ffmpeg, every other server reads it too,
# and its length is known exactly from the header (the standard library reads it) before anything is forwarded.
WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
MAX_TEXT = 2000  # what a chat message may hold
# SenseVoice writes language, emotion and event tags into its text (<|zh|><|NEUTRAL|><|Speech|>).
_TAGS = re.compile(r"<\|[^|<>]{0,32}\|>")


class Transcript(BaseModel):
    text: str = Field(description="what was heard, to show in the input box for the speaker to check and edit")
    duration_s: float = Field(description="the clip's length in seconds")


class AsrStatus(BaseModel):
    available: bool = Field(description="false: no ASR server is configured (POST answers 503)")
    max_seconds: float
    max_bytes: int
    formats: list[str] = Field(description="accepted content types of the clip")


class ClipError(Exception):
    """A clip or an upstream answer the API refuses: status, code and a message to show as is."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def clip_seconds(data: bytes, content_type: str | None, settings: ASRSettings) -> float:
    """The clip's length in seconds, or ClipError when its type, size or length is not accepted."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in WAV_TYPES:
        what = f"收到的是 {kind}" if kind else "未标明类型"
        if kind.startswith("audio/"):
            raise ClipError(415, "unsupported_audio", f"暂只支持 WAV 录音（audio/wav，PCM），{what}")
        raise ClipError(415, "unsupported_media_type", f"请上传录音文件（audio/wav），{what}")
    if len(data) > settings.max_bytes:
        raise ClipError(413, "audio_too_large", f"录音文件过大（上限 {settings.max_bytes // 1000} KB）")
    try:
        with wave.open(io.BytesIO(data)) as clip:
            rate, frame_bytes = clip.getframerate(), clip.getsampwidth() * clip.getnchannels()
            # the frames really there: a header may claim more than was sent
            frames = len(clip.readframes(clip.getnframes())) // max(1, frame_bytes)
    except (wave.Error, EOFError, RuntimeError, ValueError, OverflowError, struct.error):
        # what the standard library raises on a damaged header (a chunk size past the end: RuntimeError)
        raise ClipError(422, "invalid_audio", "不是有效的 WAV 录音文件") from None
    if frames == 0 or rate <= 0:
        raise ClipError(422, "empty_audio", "录音是空的，请再说一遍")
    seconds = frames / rate
    if seconds > settings.max_seconds:
        raise ClipError(413, "audio_too_long", f"录音过长（{seconds:.1f} 秒，上限 {settings.max_seconds:g} 秒），"
                                               "请说得简短些")
    return seconds


def clean_text(text: str) -> str:
    return " ".join(_TAGS.sub("", text).split())[:MAX_TEXT]


class Transcriber:
    """Forwards checked clips to the configured server. One per app; its connection pool is reused."""

    def __init__(self, settings: ASRSettings, transport: httpx.BaseTransport | None = None):
        if not settings.base_url:
            raise ValueError("asr.base_url is not set")
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.client = httpx.Client(base_url=settings.base_url.rstrip("/"), headers=headers, transport=transport,
                                   timeout=httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s)))

    def close(self) -> None:
        self.client.close()

    def transcribe(self, data: bytes, content_type: str | None) -> Transcript:
        seconds = clip_seconds(data, content_type, self.settings)
        form = {"model": self.settings.model, "response_format": "json"}
        if self.settings.language:
            form["language"] = self.settings.language
        t0 = time.perf_counter()
        try:
            r = self.client.post("/audio/transcriptions", data=form, files={"file": ("voice.wav", data, "audio/wav")})
        except httpx.TimeoutException:
            raise ClipError(504, "asr_timeout", f"语音识别超时（{self.settings.timeout_s:g} 秒），请重试或直接输入文字") \
                from None
        except httpx.HTTPError as exc:
            log.warning("ASR server unreachable: %s", type(exc).__name__)
            raise ClipError(502, "asr_unreachable", "语音识别服务暂时无法连接，请直接输入文字") from None
        if r.status_code >= 400:
            # its body may echo what was said: only the status is logged
            log.warning("ASR server answered HTTP %d", r.status_code)
            raise ClipError(502, "asr_failed", f"语音识别服务出错（HTTP {r.status_code}），请重试或直接输入文字")
        try:
            text = r.json()["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            log.warning("ASR server answered without a JSON text")
            raise ClipError(502, "asr_bad_answer", "语音识别服务的应答无法识别，请直接输入文字") from None
        text = clean_text(text)
        log.info("asr %d bytes, %.1f s of audio -> %d characters in %d ms", len(data), seconds, len(text),
                 (time.perf_counter() - t0) * 1000)
        return Transcript(text=text, duration_s=round(seconds, 2))
