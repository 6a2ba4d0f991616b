#!/usr/bin/env python3
"""ai_bench.py — AI Agent Orchestration (9007) against a local OpenAI-compatible
stand-in (python http.server on 127.0.0.1, canned answers, HTTP/1.1 keep-alive):

  1. overhead per invoke: p50/p99 of POST /agents/{id}/invoke (cache off) minus p50/p99
     of the same chat completion sent straight to the stand-in (both from one
     keep-alive client, sequentially);
  2. SSE pass-through delay per chunk: the stand-in stamps each chunk with its send
     time; the client of /agents/{id}/stream notes when the token arrives;
  3. invokes/s with the cache hit (4 client threads, 3 s).

    python3 bench/ai_bench.py [path-to-flowmaster] [n]

Reports, does not judge; a temp data dir and free ports (tests/http/harness.py)."""

import http.client
import http.server
import json
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))
BIN = sys.argv[1] if len(sys.argv) > 1 else "build/flowmaster"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
os.environ["FM_BIN"] = BIN

import harness  # noqa: E402
from harness import Server  # noqa: E402

ANSWER = json.dumps({"id": "c", "object": "chat.completion", "model": "m",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 5, "completion_tokens": 1}}).encode()
T0 = time.perf_counter()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if not body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(ANSWER)))
            self.end_headers()
            self.wfile.write(ANSWER)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for _ in range(50):
            t = "%.6f " % (time.perf_counter() - T0)
            self.wfile.write(("data: %s\n\n" % json.dumps({"choices": [{"delta": {"content": t}}]})).encode())
            self.wfile.flush()
            time.sleep(0.005)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def post(conn, path, body, headers):
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    r = conn.getresponse()
    data = r.read()
    assert r.status == 200, (r.status, data[:300])
    return data


def main():
    stand = harness.bind_low(lambda addr: http.server.ThreadingHTTPServer(addr, H))
    stand.daemon_threads = True
    threading.Thread(target=stand.serve_forever, daemon=True).start()
    sport = stand.server_address[1]
    fd, conf = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("[ai.provider.stand]\nkind = openai\nurl = http://127.0.0.1:%d/v1\n" % sport)
    srv = Server(modules="auth,orchestration", args=["--config", conf],
                 env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0", "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"})
    try:
        h = {"Content-Type": "application/json", "Authorization": "Bearer " + srv.admin_token(),
             "X-Tenant-Id": "default"}
        r = srv.req("PUT", 9007, "/agents/bench/config", body={"provider": "stand", "model": "m"})
        assert r.status == 200, r
        direct_body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
        dconn = http.client.HTTPConnection("127.0.0.1", sport)
        fconn = http.client.HTTPConnection("127.0.0.1", srv.port(9007))
        for _ in range(20):     # warm both paths (connections, statements)
            post(dconn, "/v1/chat/completions", direct_body, {"Content-Type": "application/json"})
            post(fconn, "/agents/bench/invoke", {"input": "hello", "cache": False}, h)
        direct, via = [], []
        for _ in range(N):
            t = time.perf_counter()
            post(dconn, "/v1/chat/completions", direct_body, {"Content-Type": "application/json"})
            direct.append(time.perf_counter() - t)
            t = time.perf_counter()
            post(fconn, "/agents/bench/invoke", {"input": "hello", "cache": False}, h)
            via.append(time.perf_counter() - t)
        ms = lambda s: s * 1000.0  # noqa: E731
        print("invoke overhead over a direct call (n=%d): p50 %.3f ms, p99 %.3f ms "
              "(direct p50 %.3f / p99 %.3f ms; invoke p50 %.3f / p99 %.3f ms)"
              % (N, ms(pct(via, .5) - pct(direct, .5)), ms(pct(via, .99) - pct(direct, .99)),
                 ms(pct(direct, .5)), ms(pct(direct, .99)), ms(pct(via, .5)), ms(pct(via, .99))))

        delays = []
        for _ in range(5):
            conn = http.client.HTTPConnection("127.0.0.1", srv.port(9007))
            conn.request("POST", "/agents/bench/stream", body=json.dumps({"input": "s", "cache": False}), headers=h)
            resp = conn.getresponse()
            buf = b""
            while True:
                chunk = resp.read1(65536)
                now = time.perf_counter() - T0
                if not chunk:
                    break
                buf += chunk
                while b"\n\n" in buf:
                    raw, buf = buf.split(b"\n\n", 1)
                    ev = dict(line.split(": ", 1) for line in raw.decode().split("\n"))
                    if ev.get("event") == "token":
                        sent = float(json.loads(ev["data"])["text"])
                        delays.append(now - sent)
            conn.close()
        print("SSE pass-through delay per chunk (n=%d): p50 %.3f ms, p99 %.3f ms"
              % (len(delays), ms(pct(delays, .5)), ms(pct(delays, .99))))

        post(fconn, "/agents/bench/invoke", {"input": "cached"}, h)
        count, stop = [0] * 4, time.perf_counter() + 3.0

        def work(k):
            c = http.client.HTTPConnection("127.0.0.1", srv.port(9007))
            while time.perf_counter() < stop:
                post(c, "/agents/bench/invoke", {"input": "cached"}, h)
                count[k] += 1
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("invokes/s with the cache hit (4 clients, 3 s): %.0f" % (sum(count) / 3.0))
    finally:
        srv.stop()
        stand.shutdown()
        os.unlink(conf)


if __name__ == "__main__":
    main()
