#!/usr/bin/env python3
"""entities_http_bench.py — GET /entities/{id}/ubo over HTTP on 127.0.0.1 against a
10,000-entity tenant (8,000 companies, 2,000 persons, ~16,000 ownership relationships,
some pointing back up: cross-holdings), loaded through the API with 8 threads. Prints
the load rate and UBO latency p50/p99 over 100 targets (the answer reads the tenant's
whole ownership graph valid on the day, then solves it).

    python3 bench/entities_http_bench.py [path-to-flowmaster] [entities]

Reports, does not judge; a temp data dir and a free port offset (tests/http/harness.py)."""

import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))
BIN = sys.argv[1] if len(sys.argv) > 1 else "build/flowmaster"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
os.environ["FM_BIN"] = BIN

from harness import Server  # noqa: E402


def parallel(srv, jobs, threads=8):
    out = [None] * len(jobs)

    def work(k):
        for i in range(k, len(jobs), threads):
            method, path, body = jobs[i]
            r = srv.req(method, 8014, path, body=body)
            assert r.status == 201, r
            out[i] = r.json
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def main():
    random.seed(42)
    srv = Server(env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0", "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"})
    srv.start()
    try:
        companies = N * 4 // 5
        t0 = time.perf_counter()
        ents = parallel(srv, [("POST", "/entities", {"type": "company" if i < companies else "person",
                                                     "name": "E%05d" % i}) for i in range(N)])
        ids = [e["id"] for e in ents]
        rels = []
        for c in range(companies):
            holders, left = 1 + random.randrange(3), 100.0
            for h in range(holders):
                share = left * 0.9 if h == holders - 1 else left * (0.2 + 0.5 * random.random())
                left -= share
                if random.randrange(100) < 45 or c == 0:
                    owner = companies + random.randrange(N - companies)
                elif random.randrange(100) < 5 and c + 1 < companies:
                    owner = c + 1 + random.randrange(companies - c - 1)
                else:
                    owner = random.randrange(c)
                rels.append(("POST", "/entities/%s/relationships" % ids[c],
                             {"type": "ownership", "ownerId": ids[owner], "percentage": round(share, 4)}))
        parallel(srv, rels)
        load = time.perf_counter() - t0
        print("loaded %d entities and %d relationships in %.1f s (%.0f requests/s, 8 threads)"
              % (N, len(rels), load, (N + len(rels)) / load))
        time.sleep(5)   # let the bus drain the load's events (each delivery changes the file)
        lat = []
        for k in range(100):
            target = ids[companies - 1 - (k * 37) % companies]
            a = time.perf_counter()
            r = srv.get(8014, "/entities/%s/ubo?threshold=10" % target)
            lat.append((time.perf_counter() - a) * 1000)
            assert r.status in (200, 422), r
        lat.sort()
        print("GET /ubo over HTTP on %d entities: p50 %.1f ms, p99 %.1f ms" % (N, lat[50], lat[98]))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
