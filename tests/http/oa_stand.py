"""A small OpenAI-compatible stand-in (/v1/chat/completions) for tests of modules that
have an agent (9007, docs/ai.md) write for them: the reply is picked by the model name
from the `replies` the test gives (a function of the last user message), and every
request body is kept so the test can read the prompt that was sent. Binds a port below
32768 (harness.bind_low)."""

import http.server
import json
import os
import tempfile
import threading

import harness


class OpenAIStand:
    def __init__(self, replies):
        self.replies = replies          # model -> fn(last user message) -> content string
        self.bodies = []
        self.lock = threading.Lock()
        stand = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                with stand.lock:
                    stand.bodies.append(body)
                model = body.get("model", "")
                user = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
                fn = stand.replies.get(model)
                if self.path != "/v1/chat/completions" or fn is None:
                    data, status = json.dumps({"error": {"message": "no such model"}}).encode(), 404
                else:
                    status = 200
                    data = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": model,
                                       "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                           "role": "assistant", "content": fn(user[-1] if user else "")}}],
                                       "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                                                 "total_tokens": 15}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.srv = harness.bind_low(lambda addr: http.server.ThreadingHTTPServer(addr, H))
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.port = self.srv.server_address[1]

    def prompts(self, model):
        """The last user message of each request made with `model`, oldest first."""
        with self.lock:
            return [[m.get("content") for m in b.get("messages", []) if m.get("role") == "user"][-1]
                    for b in self.bodies if b.get("model") == model]

    def config(self, name="oa"):
        """A flowmaster.conf naming this stand-in as provider `name`; returns its path."""
        fd, path = tempfile.mkstemp(prefix="fm-oa-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write("[ai.provider.%s]\nkind = openai\nurl = http://127.0.0.1:%d/v1\ntimeout_ms = 3000\n"
                    % (name, self.port))
        return path
