"""A real SMTP server on 127.0.0.1 for the Notification Service's tests and bench
(Debian python3-aiosmtpd; run it with /usr/bin/python3, which has the package).

    /usr/bin/python3 tests/http/smtp_sink.py OUT_DIR [--refuse N] [--count-only]

Binds a free port below 32768 and prints "PORT <n>" on stdout once accepting. Every
accepted message is written to OUT_DIR/<seq>.json as {"mail_from", "rcpt_tos",
"data"} (data: the message text as received). --refuse N answers the first N RCPT
commands with 451 (a temporary failure, so the sender retries). --count-only writes no
files, only OUT_DIR/count (for the bench). Stops on SIGTERM.
"""

import json
import os
import random
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out, refuse, count_only):
        self.out, self.refuse, self.count_only = out, refuse, count_only
        self.seq = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.seq += 1
            n = self.seq
        if self.count_only:
            if n % 50 == 0:
                with open(os.path.join(self.out, "count.tmp"), "w") as f:
                    f.write(str(n))
                os.replace(os.path.join(self.out, "count.tmp"), os.path.join(self.out, "count"))
            return "250 Message accepted for delivery"
        doc = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "data": envelope.original_content.decode("utf-8", "replace")}
        tmp = os.path.join(self.out, "%06d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, os.path.join(self.out, "%06d.json" % n))
        return "250 Message accepted for delivery"


def free_port():
    for _ in range(200):
        p = random.randint(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise SystemExit("no free port")


def main():
    out = sys.argv[1]
    refuse = int(sys.argv[sys.argv.index("--refuse") + 1]) if "--refuse" in sys.argv else 0
    sink = Sink(out, refuse, "--count-only" in sys.argv)
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port, decode_data=False)
    ctl.start()
    print("PORT %d" % port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    with open(os.path.join(out, "count"), "w") as f:
        f.write(str(sink.seq))
    ctl.stop()


if __name__ == "__main__":
    main()
