"""A real OpenAI-compatible chat server on localhost whose replies are scripted per test (SSE streaming too):
the LLM tests and the page tests use it to play a slow, fast or lying backend."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedChatServer:
    """A real HTTP server speaking the OpenAI chat completions protocol (SSE streaming too)."""

    def __init__(self):
        self.reply_text = "好的"
        self.delay_s = 0.0
        self.finish_reason = "stop"  # sent in the last streamed chunk, as real servers do ("length": cut by the cap)
        self.requests: list[dict] = []
        # A reply per question: the first key found in the last message picks its text (else reply_text), so
        # concurrent sessions can get different answers.
        self.replies_by_question: dict[str, str] = {}
        # Requests being served at once, now and at most (reset_peak): what the client really had in flight.
        self.in_flight = 0
        self.peak_in_flight = 0
        self._count_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                with server._count_lock:
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                try:
                    self._answer(body)
                finally:
                    with server._count_lock:
                        server.in_flight -= 1

            def _answer(self, body: dict) -> None:
                time.sleep(server.delay_s)
                system = body["messages"][0]["content"]
                asked = body["messages"][-1]["content"]
                scripted = next((t for q, t in server.replies_by_question.items() if q in asked), server.reply_text)
                text = "consult" if "意图分类器" in system else scripted
                try:
                    if body.get("stream"):
                        self.send_response(200)
                        self.send_header("Content-Type", "text/event-stream")
                        self.end_headers()
                        for i in range(0, len(text), 4):
                            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": text[i:i + 4]},
                                                  "finish_reason": None}]}
                            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                            self.wfile.flush()
                        last = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                "choices": [{"index": 0, "delta": {}, "finish_reason": server.finish_reason}]}
                        self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
                        self.wfile.write(b"data: [DONE]\n\n")
                    else:
                        out = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                            "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                        data = json.dumps(out, ensure_ascii=False).encode()
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reset_peak(self) -> None:
        with self._count_lock:
            self.peak_in_flight = self.in_flight

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
