"""A real OpenAI-compatible speech-to-text server on localhost (Starlette under uvicorn, in a thread) whose
transcript is chosen by the test: the double of a FunASR, SenseVoice or whisper.cpp server. It checks that it got a
valid multipart upload of a non-empty audio file, as those servers would, and keeps every upload for the test to
inspect. Also plays a failing, slow or garbled server. And a short WAV made with the standard library."""
from __future__ import annotations

import asyncio
import io
import math
import socket
import struct
import threading
import time
import wave
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


@dataclass
class Upload:
    filename: str
    content_type: str
    audio: bytes
    fields: dict[str, str]
    authorization: str | None


def wav_bytes(seconds: float, rate: int = 16_000, channels: int = 1, freq: float = 440.0,
              amplitude: float = 0.5) -> bytes:
    """A sine tone as 16-bit PCM WAV (silence when amplitude is 0)."""
    frames = int(seconds * rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate)))
                               * channels for i in range(frames)))
    return buf.getvalue()


def wav_rms(data: bytes) -> tuple[float, int, int]:
    """(seconds, sample rate, channels) and the loudness of a 16-bit WAV: its RMS over full scale."""
    with wave.open(io.BytesIO(data)) as w:
        rate, channels, raw = w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())
    samples = struct.unpack(f"<{len(raw) // 2}h", raw)
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768
    return rms, rate, channels


class ScriptedAsrServer:
    def __init__(self):
        self.transcript = "好的"
        self.status = 200  # another status: answer it with an error body
        self.garbled = False  # answer 200 with a body that is not JSON
        self.delay_s = 0.0
        self.uploads: list[Upload] = []
        self.refused: list[str] = []  # why uploads were refused (not what a well-behaved client sends)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    async def _transcriptions(self, request: Request):
        form = await request.form()
        upload = form.get("file")
        problem = None
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            problem = "not multipart"
        elif upload is None or isinstance(upload, str):
            problem = "no file part"
        elif not form.get("model"):
            problem = "no model"
        audio = await upload.read() if problem is None else b""
        if problem is None and not audio:
            problem = "empty file"
        if problem is None and not (upload.content_type or "").startswith("audio/"):
            problem = f"not audio: {upload.content_type}"
        if problem:
            self.refused.append(problem)
            return JSONResponse({"error": {"message": problem, "type": "invalid_request_error"}}, status_code=400)
        self.uploads.append(Upload(upload.filename or "", upload.content_type or "", audio,
                                   {k: v for k, v in form.items() if isinstance(v, str)},
                                   request.headers.get("authorization")))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}},
                                status_code=self.status)
        if self.garbled:
            return PlainTextResponse("<html>gateway</html>")
        return JSONResponse({"text": self.transcript})

    def start(self) -> "ScriptedAsrServer":
        app = Starlette(routes=[Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("scripted ASR server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Down: nothing listens on its port until start() again."""
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
            self._server = None

    def close(self) -> None:
        self.stop()
