"""Webhook deliveries/s for `make bench-bus` (bench/bus_bench.sh): `flowmaster serve`
(auth, eventbus) on a free port offset with a temporary data dir, S webhook
subscriptions (default 100: 100 requests in flight, one per subscription) to a local
asyncio receiver on 127.0.0.1 that answers 204 on keep-alive connections, then E events
published in one batch: the time until every subscription has acknowledged the last
one. Prints one human line and "result webhook rate=… deliveries=…".

    python3 bench/bus_webhook_bench.py [subscriptions=100] [events=100]
"""

import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import Server  # noqa: E402

SUBS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
EVENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
received = 0


async def handle(reader, writer):
    global received
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            n = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    n = int(line[15:])
            if n:
                await reader.readexactly(n)
            received += 1
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


def serve(port_box, ready):
    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0, backlog=512))
    port_box.append(srv.sockets[0].getsockname()[1])
    ready.set()
    loop.run_forever()


def main():
    box, ready = [], threading.Event()
    threading.Thread(target=serve, args=(box, ready), daemon=True).start()
    ready.wait()
    url = "http://127.0.0.1:%d/hook" % box[0]
    s = Server(modules="auth,eventbus", env={"FLOWMASTER_LOG_REQUESTS": "false",
                                            "FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                                            "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"})
    try:
        for i in range(SUBS):
            r = s.req("POST", 9013, "/subscriptions", {"kind": "webhook", "url": url,
                                                       "secret": "bench-secret-0000000001"})
            assert r.status == 201, r
        evs = [{"type": "bench.tick", "source": "/bench", "data": {"i": i, "pad": "x" * 200}}
               for i in range(EVENTS)]
        t0 = time.monotonic()
        r = s.req("POST", 9013, "/events", evs)
        assert r.status == 201, r
        last = r.json["items"][-1]["offset"]
        while True:
            j = s.req("GET", 9013, "/subscriptions?limit=500").json
            if all(x["lastDeliveredOffset"] >= last for x in j["items"]):
                break
            if time.monotonic() - t0 > 300:
                raise SystemExit("deliveries did not finish in 300 s")
            time.sleep(0.02)
        secs = time.monotonic() - t0
        total = SUBS * EVENTS
        print("  %d subscriptions x %d events = %d deliveries in %.2f s: %.0f deliveries/s "
              "(receiver counted %d)" % (SUBS, EVENTS, total, secs, total / secs, received))
        print("result webhook rate=%.0f deliveries=%d" % (total / secs, total))
    finally:
        s.stop()
        s.close()


if __name__ == "__main__":
    main()
