#!/usr/bin/env python3
"""exec_message_bench.py — what POST /messages costs, sequentially over HTTP on
127.0.0.1: p50/p99 latency and messages/s of (a) a message that starts a process with a
message start (start -> script -> end) and (b) one that nobody waits for (404). Since
issue 11 item 7 every POST /messages (and /signals) first catches up with publications
(one delivery round posted to the loop, docs/execution.md "Publish, then message"):
run it against two binaries to see that cost.

    python3 bench/exec_message_bench.py [path-to-flowmaster] [count]

Reports, does not judge. Uses tests/http/harness.py (a temp data dir, a free port
offset) and stops the server it started."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/flowmaster"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500
os.environ["FM_BIN"] = BIN

from harness import Server  # noqa: E402
from exec_support import bpmn, chain, deploy  # noqa: E402


def run(srv, body, want):
    lat = []
    t0 = time.perf_counter()
    for _ in range(N):
        a = time.perf_counter()
        r = srv.req("POST", 9005, "/messages", body=body)
        lat.append(time.perf_counter() - a)
        assert r.status == want, r
    total = time.perf_counter() - t0
    lat.sort()
    return N / total, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def main():
    srv = Server(env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0", "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"})
    srv.start()
    try:
        body = ('<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>'
                '<bpmn:scriptTask id="a"><bpmn:extensionElements><zeebe:script expression="=1" '
                'resultVariable="x"/></bpmn:extensionElements></bpmn:scriptTask><bpmn:endEvent id="e"/>'
                + chain("s", "a", "e"))
        deploy(srv, bpmn("bench_msg", body, defs_extra='<bpmn:message id="m" name="bench-start"/>'))
        for _ in range(100):    # a binary without the publish catch-up registers it a little later
            if srv.req("POST", 9005, "/messages", body={"name": "bench-start"}).status == 200:
                break
            time.sleep(0.05)
        for label, msg, want in (("message start", {"name": "bench-start"}, 200),
                                 ("not correlated", {"name": "bench-nobody"}, 404)):
            rate, p50, p99 = run(srv, msg, want)
            print("%-15s %6d msgs  %8.0f msg/s  p50 %6.2f ms  p99 %6.2f ms  (%s)" % (label, N, rate, p50, p99, BIN))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
