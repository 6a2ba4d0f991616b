#!/usr/bin/env python3
"""Notification Service throughput (issue 15, `make bench-notify`): messages queued →
accepted by a local SMTP server, per second. A real SMTP server (Debian
python3-aiosmtpd, tests/http/smtp_sink.py --count-only, run with /usr/bin/python3)
listens on 127.0.0.1. N e-mails (default 5,000; BENCH_NOTIFY_N) are sent over HTTP to
a user whose quiet hours end a few seconds after the last is expected to be queued, so
all N are stored 'held' and become due at the same instant. The number is N divided by
the time from that instant to the last message accepted (its sent_ms in the module's
database, i.e. after the SMTP server answered 250 and the outcome was committed);
the SMTP server's own count is printed beside it. Target ≥ 500/s.

Reports, does not judge. Uses tests/http/harness.py (a temp data dir, a free port
offset, 127.0.0.1 only); stops every process it started."""

import concurrent.futures
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))
if len(sys.argv) > 1:
    os.environ["FM_BIN"] = os.path.abspath(sys.argv[1])

from harness import Server  # noqa: E402
from test_notifications import Smtp, env_for  # noqa: E402

N = int(os.environ.get("BENCH_NOTIFY_N", "5000"))


def cpu_seconds(pid):
    """user + system CPU seconds the process has used so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
THREADS = 8


def main():
    smtp = Smtp(count_only=True)
    env = env_for(smtp.port)
    env["FLOWMASTER_LOG_REQUESTS"] = "false"
    env["FLOWMASTER_NOTIFICATIONS_CONCURRENCY"] = os.environ.get("BENCH_NOTIFY_CONCURRENCY", "64")
    srv = Server(modules="auth,notifications", env=env)
    try:
        srv.admin_token()
        body = {"channel": "email", "to": "bench@example.test", "userId": "bench", "subject": "Bench {{n}}",
                "body": "Hello {{n}}", "html": "<p>Hello {{n}}</p>"}
        # measure the queueing rate on a slice, then set quiet hours to end after the rest
        t0 = time.time()
        probe = min(200, N)
        for i in range(probe):
            assert srv.req("POST", 9009, "/notifications/send", dict(body, userId="probe", data={"n": i})).status \
                == 202
        per = (time.time() - t0) / probe
        end = time.time() + per * N / 2 + 4
        start_s = time.strftime("%H:%M:%S", time.gmtime(time.time() - 60))
        end_s = time.strftime("%H:%M:%S", time.gmtime(end))
        r = srv.req("PUT", 9009, "/notifications/preferences/bench",
                    {"quietHours": {"start": start_s, "end": end_s, "timezone": "UTC"}})
        assert r.status == 200, r
        # the probe messages were sent at once (no quiet hours for "probe"); wait for them
        db = os.path.join(srv.data_dir, "notifications.db")

        def q(sql):
            c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
            try:
                return c.execute(sql).fetchone()
            finally:
                c.close()
        while q("SELECT count(*) FROM notifications WHERE status = 'sent'")[0] < probe:
            time.sleep(0.1)

        def one(i):
            r = srv.req("POST", 9009, "/notifications/send", dict(body, data={"n": i}))
            assert r.status == 202 and r.json["status"] == "held", r
        t1 = time.time()
        with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
            list(ex.map(one, range(N)))
        queued_s = time.time() - t1
        held_until = q("SELECT min(held_until_ms), max(held_until_ms) FROM notifications WHERE user_id = 'bench'")
        if time.time() * 1000 > held_until[0]:
            print("notify bench: queueing took longer than planned (%.1fs); the burst overlapped it" % queued_s)
        while time.time() * 1000 < held_until[0]:
            time.sleep(0.01)
        cpu0 = cpu_seconds(srv.proc.pid), cpu_seconds(smtp.proc.pid)
        deadline = time.time() + 600
        while time.time() < deadline:
            sent, failed = q("SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed') "
                             "FROM notifications WHERE user_id = 'bench'")
            if sent + failed >= N:
                break
            time.sleep(0.2)
        last, sent, attempts = q("SELECT max(sent_ms), count(*), sum(attempts) FROM notifications "
                                 "WHERE user_id = 'bench' AND status = 'sent'")
        secs = (last - held_until[0]) / 1000.0
        cpu = cpu_seconds(srv.proc.pid) - cpu0[0], cpu_seconds(smtp.proc.pid) - cpu0[1]
        srv.stop()
        smtp.proc.terminate()
        smtp.proc.wait(10)
        with open(os.path.join(smtp.dir, "count")) as f:
            accepted = int(f.read())
        print("notify bench: %d e-mails (text + HTML) queued over HTTP in %.1fs (%.0f/s, %d client threads)"
              % (N, queued_s, N / queued_s, THREADS))
        print("notify bench: %d sent (%d attempts) in %.2fs after quiet hours ended: %.0f messages/s "
              "queued -> accepted by SMTP (target >= 500/s); SMTP server counted %d (incl. %d probe)"
              % (sent, attempts, secs, sent / secs if secs > 0 else 0, accepted, probe))
        print("notify bench: CPU during the burst: flowmaster %.2fs (%.0f us/message), SMTP server %.2fs "
              "(%.0f us/message); load average %s" % (cpu[0], cpu[0] * 1e6 / max(sent, 1), cpu[1],
                                                      cpu[1] * 1e6 / max(sent, 1), os.getloadavg()[0]))
    finally:
        srv.close()
        smtp.close()


if __name__ == "__main__":
    main()
