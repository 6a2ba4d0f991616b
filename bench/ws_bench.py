#!/usr/bin/env python3
"""WebSocket Gateway benchmark: `make bench-ws` runs this (bench/README.md).

`flowmaster serve` runs on a free port offset with a temporary data dir (the test
harness's Server). bench/ws_fanout.mjs (Node, the pinned `ws` package of tests/ws_node)
opens BENCH_WS_CLIENTS (default 1,000) WebSocket connections on loopback, each
subscribed to one channel through GET /channels/bench/subscribe. Then:
  1. idle cost: the server's RSS and thread count (/proc/<pid>/status) before the clients
     connect and with all of them connected and idle → KiB and threads per connection;
  2. fan-out: BENCH_WS_ROUNDS (default 200) rounds of one message published to the
     channel by another client; per round the time from the publish until the last (and
     the first) client has it, measured in the client process → p50, p99, max.
  3. the alternative: the same N idle WebSockets held by a CivetWeb context with
     FlowMaster's options (build/bench/ws_civetweb_probe, N + 16 worker threads, as a
     separate CivetWeb context for 9010 would need) → KiB and threads per connection.
The target (issue 14) is p99 < 50 ms for 1,000 clients. Latencies are measured in one
Node process on the same 2-core machine, so they include the clients' own work. It reports, it does not judge:
exit 0 whether or not the target is met; 1 when something failed to run.
"""

import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
os.environ.setdefault("FM_BIN", os.path.join(ROOT, "build", "flowmaster"))

from harness import Server  # noqa: E402
from test_websocket import npm_ci  # noqa: E402


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    return out


def cpu_ms(pid):
    """user + system CPU time of a process so far, in ms."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def free_port():
    for port in range(21000, 32000, 7):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def civetweb_idle(node, n):
    """RSS and threads of the CivetWeb probe before and with n idle WebSockets."""
    port = free_port()
    probe = subprocess.Popen([os.path.join(ROOT, "build", "bench", "ws_civetweb_probe"), str(port), str(n + 16)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        before = status(probe.pid)
        p = subprocess.Popen([node, os.path.join(ROOT, "bench", "ws_fanout.mjs"), "ws://127.0.0.1:%d" % port,
                              "x", str(n), "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = json.loads(p.stdout.readline())
        assert line.get("connected") == n, line
        time.sleep(1.0)
        idle = status(probe.pid)
        p.stdin.write("go\n")
        p.stdin.flush()
        p.wait(timeout=60)
        return before, idle
    finally:
        probe.kill()
        probe.wait()


def main():
    n = int(os.environ.get("BENCH_WS_CLIENTS", "1000"))
    rounds = int(os.environ.get("BENCH_WS_ROUNDS", "200"))
    node = npm_ci()
    # 1,000 upgrades at once are over the default per-IP and per-tenant rates
    # log level debug: the gateway logs its own share of each fan-out ("websocket: fan-out")
    srv = Server(env={"FLOWMASTER_LOG_REQUESTS": "false", "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0",
                      "FLOWMASTER_GATEWAY_RATE_PER_IP": "0", "FLOWMASTER_LOG_LEVEL": "debug"})
    try:
        pid = srv.proc.pid
        token = srv.admin_token()
        time.sleep(0.5)
        before = status(pid)
        p = subprocess.Popen([node, os.path.join(ROOT, "bench", "ws_fanout.mjs"),
                              "ws://127.0.0.1:%d" % (9010 + srv.offset), token, str(n), str(rounds)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = json.loads(p.stdout.readline())
        assert line.get("connected") == n, line
        time.sleep(1.0)
        idle = status(pid)
        c0, n0 = cpu_ms(pid), cpu_ms(p.pid)
        p.stdin.write("go\n")
        p.stdin.flush()
        res = json.loads(p.stdout.readline())
        c1, n1 = cpu_ms(pid), cpu_ms(p.pid)
        p.wait(timeout=60)
        if "error" in res:
            print("bench-ws: %s" % res["error"])
            return 1
        kib = (idle["VmRSS"] - before["VmRSS"]) / float(n)
        thr = (idle["Threads"] - before["Threads"]) / float(n)
        print("ws idle: %d connections: RSS %d → %d KiB (%.1f KiB per connection), threads %d → %d (%.3f per connection)"
              % (n, before["VmRSS"], idle["VmRSS"], kib, before["Threads"], idle["Threads"], thr))
        last, first = res["last"], res["first"]
        print("ws fan-out of one message to %d clients, %d rounds: last client p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
              "first client p50 %.2f ms (target: p99 < 50 ms)"
              % (n, len(last), pct(last, 50), pct(last, 99), max(last), pct(first, 50)))
        print("CPU during the rounds: server %.2f ms per fan-out, the Node clients %.2f ms per fan-out"
              % ((c1 - c0) / len(last), (n1 - n0) / len(last)))
    finally:
        srv.stop()
    own = []
    with open(srv.stderr_path) as f:
        for line in f:
            if '"websocket: fan-out"' in line and '"realtime.channel.message"' in line:
                rec = json.loads(line)
                if rec.get("clients") == n:
                    own.append(rec["ms"])
    if own:
        print("the server's own share (bus delivery to the last frame handed to the kernel), %d fan-outs: "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (len(own), pct(own, 50), pct(own, 99), max(own)))
    before, idle = civetweb_idle(node, n)
    print("CivetWeb WebSockets idle (num_threads = clients + 16, started up front): %d connections: "
          "RSS %d → %d KiB (%.1f KiB per connection), threads %d → %d (%.3f per connection)" % (n, before["VmRSS"], idle["VmRSS"], (idle["VmRSS"] - before["VmRSS"]) / float(n),
                                     before["Threads"], idle["Threads"], (idle["Threads"] - before["Threads"]) / float(n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
