#!/usr/bin/env python3
"""Scheduling Service fire delay (issue 15, `make bench-sched`): N schedules (default
10,000; BENCH_SCHED_N) created over HTTP, all due at the same instant (`at`, a whole
second a few seconds after the last is expected to be created), each publishing an event
through the outbox. After they fired, the runs table gives, per schedule, fired − due:
the moment its run row (and, for an event, the event itself) was written, against the
instant it was due. Prints p50/p99/max and how long the whole burst took.

Reports, does not judge. Uses tests/http/harness.py (a temp data dir, a free port
offset, 127.0.0.1 only); stops the server it started."""

import concurrent.futures
import datetime
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))
if len(sys.argv) > 1:
    os.environ["FM_BIN"] = os.path.abspath(sys.argv[1])

from harness import Server  # noqa: E402

N = int(os.environ.get("BENCH_SCHED_N", "10000"))
THREADS = 8


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_seconds(pid):
    """user + system CPU seconds the process has used so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(sorted_vals, p):
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * p / 100))]


def main():
    srv = Server(modules="auth,scheduling", env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                                                 "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"})
    try:
        srv.admin_token()
        body = {"name": "b", "action": {"kind": "event", "type": "bench.tick"}}
        # measure the creation rate on a first slice, then aim the burst past the rest
        t0 = time.time()
        probe = min(200, N)
        for _ in range(probe):
            r = srv.req("POST", 9008, "/schedules", dict(body, at="2099-01-01T00:00:00Z"))
            assert r.status == 201, r
        per = (time.time() - t0) / probe
        due_ms = int((time.time() + per * N + 3) // 1 * 1000 + 1000)
        # the probe schedules are moved onto the burst too (PUT), so exactly N are due
        lst = srv.get(9008, "/schedules?limit=500").json["items"]

        def put(item):
            r = srv.req("PUT", 9008, "/schedules/" + item["id"], dict(body, at=iso(due_ms)))
            assert r.status == 200, r

        def post(_):
            r = srv.req("POST", 9008, "/schedules", dict(body, at=iso(due_ms)))
            assert r.status == 201, r

        with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
            list(ex.map(put, lst))
            list(ex.map(post, range(N - probe)))
        created = time.time()
        if created * 1000 >= due_ms:
            print("sched_bench: creating %d schedules took past the due time; rerun with a smaller "
                  "BENCH_SCHED_N" % N)
            return 1
        db_path = os.path.join(srv.data_dir, "scheduling.db")
        deadline = due_ms / 1000 + 60
        time.sleep(max(0, due_ms / 1000 - 0.3 - time.time()))
        cpu0 = cpu_seconds(srv.proc.pid)
        while time.time() < deadline:
            time.sleep(0.5)
            if time.time() * 1000 < due_ms:
                continue
            db = sqlite3.connect(db_path)
            n = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            db.close()
            if n >= N:
                break
        cpu = cpu_seconds(srv.proc.pid) - cpu0
        db = sqlite3.connect(db_path)
        rows = db.execute("SELECT fired_ms - due_ms, fired_ms FROM runs WHERE trigger = 'schedule'").fetchall()
        db.close()
        delays = sorted(r[0] for r in rows)
        if len(delays) != N:
            print("sched_bench: %d of %d schedules fired within 60 s" % (len(delays), N))
            return 1
        last = max(r[1] for r in rows)
        print("schedules due at the same instant: %d (created over HTTP in %.1f s, %d threads)"
              % (N, created - t0, THREADS))
        print("fire delay (due -> run row and event committed): min %d ms, p50 %d ms, p99 %d ms, max %d ms"
              % (delays[0], pct(delays, 50), pct(delays, 99), delays[-1]))
        print("whole burst fired within %d ms of the due instant" % (last - due_ms))
        print("server CPU from 0.3 s before the due instant until all had fired: %.2f s (%.0f us per fire; "
              "the wall clock also counts other processes' time)" % (cpu, cpu * 1e6 / N))
        return 0
    finally:
        srv.close()


if __name__ == "__main__":
    sys.exit(main())
