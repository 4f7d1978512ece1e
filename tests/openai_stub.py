"""A loopback OpenAI-compatible chat-completions server (127.0.0.1, port chosen by the OS) for tests.

``serve(answers)`` starts it in a daemon thread and yields it; ``server.url`` is the base URL to put in
OPENAI_BASE_URL, ``server.mode`` picks the answer (a key of ``answers``, or one of the failure modes "slow",
"401", "500", "temperature", "nochoices"), ``server.requests`` records each request (path, Authorization
header, JSON body). Nothing leaves the machine.
"""
from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(text: str) -> dict:
    return {"id": "chatcmpl-stub", "object": "chat.completion", "model": "stub-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 -- http.server's name
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        mode, answers = server.mode, server.answers
        if mode == "slow":
            server.release.wait(3)  # longer than the tests' timeout; released at teardown
            status, payload = 200, completion(next(iter(answers.values())))
        elif mode == "401":
            status, payload = 401, {"error": {"message": f"Incorrect API key provided: {body and self.headers.get('Authorization', '')[7:]}. "
                                               "You can find your API key at https://platform.openai.com/account/api-keys.",
                                    "type": "invalid_request_error", "code": "invalid_api_key"}}
        elif mode == "500":
            status, payload = 500, {"error": {"message": "The server had an error while processing your request."}}
        elif mode == "temperature" and "temperature" in body:
            status, payload = 400, {"error": {"message": "Unsupported value: 'temperature' does not support 0.7 "
                                                         "with this model. Only the default (1) value is supported."}}
        elif mode == "nochoices":
            status, payload = 200, {"object": "chat.completion", "choices": []}
        else:
            status, payload = 200, completion(answers.get(mode, next(iter(answers.values()))))
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first (the timeout test)
            pass

    def log_message(self, *args):  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve(answers: dict[str, str], mode: str | None = None):
    """The stub server answering with ``answers[mode]`` (default: the first answer), stopped on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.answers, server.mode = dict(answers), mode or next(iter(answers))
    server.requests, server.release = [], threading.Event()
    server.url = f"http://127.0.0.1:{server.server_port}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
