#!/usr/bin/env python3
"""External Integration benchmark: `make bench-integrations` runs this (bench/README.md).

A bare CivetWeb hello-world (bench/hello.c) is the receiver on 127.0.0.1. `flowmaster
serve` runs on a free port offset with a temporary data dir (tests/http/harness.py's
Server). wrk drives, 100 connections (100 calls in flight):
  1. direct:  GET / on the receiver                        → requests/s, p50, p99
  2. through: POST /integrations/{id}/execute {"path": "/"} → calls/s, p50, p99, and the
     latency a connector call adds over the direct request (p50/p99 differences).
     Every call is logged (one SQLite write each), as in production.
  3. inbound: POST /hooks/{id} (static-token webhook) that starts a process
     (start → end) per delivery                             → webhooks/s, p50, p99
  4. engine:  POST /executions of a process start → serviceTask → end whose task is
     `type="integration"` (the stored connector, logged) and then
     `type="io.camunda:http-json:1"` (Camunda REST connector inputs): wrk starts
     instances for the section's seconds, then the bench waits until every started
     instance has completed → connector calls/s from the engine (started / (start
     seconds + drain seconds)), and the drain time after the last start.
It reports, it does not judge: exit 0 whether or not a target (≥ 5,000 calls/s) is met;
1 when something failed to run; 3 when answers were wrong (non-2xx), which voids a number.

Environment: BENCH_INTEG_SECS (default 5 per section), BENCH_INTEG_CONNS (default 100).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
os.environ.setdefault("FM_BIN", os.path.join(ROOT, "build", "flowmaster"))

from harness import Server, assert_json, free_low_port  # noqa: E402
from exec_support import bpmn, chain, deploy  # noqa: E402

SECS = int(os.environ.get("BENCH_INTEG_SECS", "5"))
CONNS = int(os.environ.get("BENCH_INTEG_CONNS", "100"))
TOKEN = "bench-static-token-0123456789"


def wrk(url, script=None):
    args = ["wrk", "-t2", "-c%d" % CONNS, "-d%ds" % SECS, "--latency"]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=SECS + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % p, out)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, pct(50), pct(99), int(bad.group(1)) if bad else 0


def cpu_seconds(pid):
    """user + system CPU seconds the process has used so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lua(tmp, name, path, body, headers):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(body))
        for k, v in headers.items():
            f.write('wrk.headers[%s] = %s\n' % (json.dumps(k), json.dumps(v)))
        f.write('wrk.path = %s\n' % json.dumps(path))
    return p


def engine_integration_task():
    return ('<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="integration" />'
            '<zeebe:taskHeaders><zeebe:header key="connector" value="bench" /><zeebe:header key="path" value="/" />'
            '<zeebe:header key="resultExpression" value="={status: response.status}" />'
            '</zeebe:taskHeaders></bpmn:extensionElements></bpmn:serviceTask>')


def engine_rest_task(port):
    return ('<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="io.camunda:http-json:1" />'
            '<zeebe:ioMapping><zeebe:input source="noAuth" target="authentication.type" />'
            '<zeebe:input source="GET" target="method" />'
            '<zeebe:input source="http://127.0.0.1:%d/" target="url" /></zeebe:ioMapping>'
            '<zeebe:taskHeaders><zeebe:header key="resultExpression" value="={status: response.status}" />'
            '</zeebe:taskHeaders></bpmn:extensionElements></bpmn:serviceTask>' % port)


def engine_calls(s, tmp, auth, pid, task):
    """Starts instances of start → task → end with wrk for SECS seconds, then waits until
    all have completed. (calls/s, drain seconds, instances, instances not completed)."""
    deploy(s, bpmn(pid, '<bpmn:startEvent id="s"/>%s<bpmn:endEvent id="e"/>' % task + chain("s", "t", "e")))
    sc = lua(tmp, pid + ".lua", "/executions", json.dumps({"processId": pid}), auth)
    t0 = time.monotonic()
    wrk("http://127.0.0.1:%d" % (9005 + s.offset), sc)
    t1 = time.monotonic()

    def total(state=None):
        q = "/executions?processId=%s&limit=1%s" % (pid, "&state=" + state if state else "")
        return assert_json(s.get(9005, q))["total"]
    started, done = total(), total("completed")
    deadline = time.monotonic() + 300
    while done < started and time.monotonic() < deadline:
        time.sleep(0.2)
        started, done = total(), total("completed")   # starts in flight when wrk stopped count too
    t2 = time.monotonic()
    return started / (t2 - t0), t2 - t1, started, started - done


def main():
    if not shutil.which("wrk"):
        print("wrk is not installed (scripts/deps.sh bench)")
        return 1
    tmp = tempfile.mkdtemp(prefix="fm-bench-integ-")
    hello = os.path.join(tmp, "hello")
    subprocess.run(["cc", "-std=c11", "-O2", "-o", hello, os.path.join(ROOT, "bench", "hello.c"),
                    "-lcivetweb", "-lpthread"], check=True)
    port = free_low_port()
    recv = subprocess.Popen([hello, str(port)])
    status = 0
    try:
        time.sleep(0.3)
        # rate limits off: the bench measures the work, not the limiter (100 connections from one IP)
        with Server(env={"FLOWMASTER_LOG_REQUESTS": "false", "FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                         "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"}) as s:
            c = assert_json(s.req("POST", 9015, "/integrations",
                                  body={"name": "bench", "baseUrl": "http://127.0.0.1:%d" % port}), 201)
            auth = {"Authorization": "Bearer " + s.admin_token(), "X-Tenant-Id": "default",
                    "Content-Type": "application/json"}
            print("== External Integration: %d connections, %d s per section, receiver bench/hello.c" % (CONNS, SECS))
            d = wrk("http://127.0.0.1:%d/" % port)
            print("1. direct GET /                 %9.0f req/s   p50 %7.2f ms   p99 %7.2f ms" % d[:3])
            sc = lua(tmp, "exec.lua", "/integrations/%s/execute" % c["id"], '{"path": "/"}', auth)
            cpu0 = cpu_seconds(s.proc.pid)
            e = wrk("http://127.0.0.1:%d" % (9015 + s.offset), sc)
            cpu = cpu_seconds(s.proc.pid) - cpu0
            print("2. POST …/execute               %9.0f calls/s p50 %7.2f ms   p99 %7.2f ms   (target ≥ 5000/s)"
                  % e[:3])
            if cpu > 0:
                print("   server CPU %.1f s in %d s: %.0f calls per server CPU-second"
                      % (cpu, SECS, e[0] * SECS / cpu))
            print("   added over direct            p50 %+7.2f ms   p99 %+7.2f ms" % (e[1] - d[1], e[2] - d[2]))
            pid = "bench_hook"
            deploy(s, bpmn(pid, '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")))
            h = assert_json(s.req("POST", 9015, "/webhooks", body={
                "name": "bench", "verification": {"type": "token", "token": TOKEN},
                "action": {"type": "startProcess", "processId": pid, "variables": {"n": "request.n"}}}), 201)
            sh = lua(tmp, "hook.lua", "/hooks/" + h["id"], '{"n": 1}',
                     {"X-Webhook-Token": TOKEN, "Content-Type": "application/json"})
            w = wrk("http://127.0.0.1:%d" % (9015 + s.offset), sh)
            print("3. POST /hooks/{id} (starts)    %9.0f hooks/s p50 %7.2f ms   p99 %7.2f ms" % w[:3])
            bad = [("direct", d), ("execute", e), ("hooks", w)]
            for n, (kind, task) in enumerate((("integration", engine_integration_task()),
                                              ("http-json", engine_rest_task(port)))):
                rate, drain, started, nb = engine_calls(s, tmp, auth, "bench_engine_%d" % n, task)
                print("%d. engine %-22s %9.0f calls/s (%d instances, drained %.1f s after the last start)"
                      % (4 + n, kind, rate, started, drain))
                bad.append(("engine " + kind, (0, 0, 0, nb)))
            for name, r in bad:
                if r[3]:
                    print("   %s: %d answers were not 2xx: that number is void" % (name, r[3]))
                    status = 3
    except Exception as ex:  # noqa: BLE001
        print("bench failed: %r" % ex)
        status = 1
    finally:
        recv.terminate()
        recv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("nproc %d; the receiver, wrk and the server share these cores." % os.cpu_count())
    return status


if __name__ == "__main__":
    sys.exit(main())
