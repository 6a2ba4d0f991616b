#!/usr/bin/env bash
# FEEL robustness probe (issue 10 items 3 and 5, "Measure"): `make bench-feel-probe`.
# Starts its own server (rules + auth modules, a free --port-offset below the ephemeral
# range, a temporary data dir), talks to 127.0.0.1 only, stops the server at the end,
# and prints:
#  1. memory: the server's VmRSS before, its peak (VmHWM) and VmRSS after idling, around
#     FEEL_PROBE_CONC concurrent POST /rules/expression that each run into the
#     evaluation memory cap, then ten concurrent step-limited loops;
#  2. the time of list built-ins over 40,000 items (distinct values, union, index of,
#     list contains, sort, sort with a precedes function, mode, split, context merge),
#     with the answer's result and error, each request bounded by FEEL_PROBE_TIMEOUT.
# Usage: bench/feel_probe.sh [path-to-flowmaster]   (default build/flowmaster)
# It reports, it does not judge: exit 1 only when the server did not start.
# Memory bound: the concurrency is lowered so that FEEL_PROBE_CONC x 80 MiB (what an
# evaluator without a global budget may reach) stays under half of MemAvailable.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/flowmaster}
CONC=${FEEL_PROBE_CONC:-120}
TIMEOUT=${FEEL_PROBE_TIMEOUT:-60}
IDLE=${FEEL_PROBE_IDLE:-5}
tmp=$(mktemp -d)
srv=""
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

avail_mib=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
max_conc=$(( avail_mib / 2 / 80 ))
if [ "$CONC" -gt "$max_conc" ]; then
  echo "note: FEEL_PROBE_CONC lowered from $CONC to $max_conc (MemAvailable ${avail_mib} MiB)"
  CONC=$max_conc
fi

up=0
for _ in 1 2 3 4 5; do     # a taken port makes the server exit: try another offset
  off=$(( 10000 + RANDOM % 13000 )); port=$((8018 + off))
  FLOWMASTER_LOG_REQUESTS=false FLOWMASTER_RULES_AUDIT=false FLOWMASTER_GATEWAY_RATE_PER_IP=0 \
    FLOWMASTER_GATEWAY_RATE_PER_TENANT=0 \
    "$BIN" serve --data-dir "$tmp/data" --port-offset "$off" --modules rules,auth >"$tmp/srv.log" 2>&1 &
  srv=$!
  for _ in $(seq 100); do
    kill -0 "$srv" 2>/dev/null || break
    if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  [ $up = 1 ] && break
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""
done
if [ $up != 1 ]; then echo "server did not start:"; tail -3 "$tmp/srv.log"; exit 1; fi
token=$("$BIN" token --service feelprobe --data-dir "$tmp/data" --port-offset "$off")
echo "binary: $BIN (pid $srv, port $port, $(ls /proc/$srv/task | wc -l) threads)"

python3 - "$port" "$token" "$srv" "$CONC" "$TIMEOUT" "$IDLE" <<'PY'
import json, sys, time, threading, urllib.request
port, token, pid, conc, timeout, idle = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    float(sys.argv[5]), float(sys.argv[6])

def status(key):
    for line in open("/proc/%s/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return -1

def post(expr, to=timeout):
    req = urllib.request.Request("http://127.0.0.1:%s/rules/expression" % port, method="POST",
                                 data=json.dumps({"expression": expr}).encode(),
                                 headers={"Content-Type": "application/json", "X-Tenant-Id": "default",
                                          "Authorization": "Bearer " + token})
    t = time.monotonic()
    try:
        body = json.load(urllib.request.urlopen(req, timeout=to))
        return time.monotonic() - t, body.get("result"), body.get("error")
    except Exception as e:  # a timeout is a result here
        return time.monotonic() - t, None, "client: %s" % e

def crowd(expr, n):
    errs = {}
    def one():
        _, _, err = post(expr, 300)
        errs[err] = errs.get(err, 0) + 1
    ts = [threading.Thread(target=one) for _ in range(n)]
    t = time.monotonic()
    for x in ts: x.start()
    for x in ts: x.join()
    return time.monotonic() - t, errs

print("== memory (MiB of the server process)")
post("1 + 1")
print("VmRSS before: %d" % status("VmRSS"))
secs, errs = crowd("count(for i in 1..900000 return [i, i])", conc)
print("%d concurrent evaluations over the memory cap: %.1f s, errors %s" % (conc, secs, errs))
print("VmRSS right after: %d, peak VmHWM: %d" % (status("VmRSS"), status("VmHWM")))
secs, errs = crowd("every i in 1..500000 satisfies i > 0 and i > 0 and i > 0 and i > 0", 10)
print("10 concurrent step-limited loops: %.1f s, errors %s" % (secs, errs))
print("VmRSS right after: %d, peak VmHWM: %d" % (status("VmRSS"), status("VmHWM")))
time.sleep(idle)
print("VmRSS after %.0f s idle: %d" % (idle, status("VmRSS")))

print("== list built-ins over 40,000 items (seconds; POST /rules/expression, timeout %.0f s)" % timeout)
N = 40000
cases = [
    ("distinct values", "count(distinct values(for i in 1..%d return i))" % N),
    ("distinct values (dups)", "count(distinct values(for i in 1..%d return modulo(i, 100) * 1.0))" % N),
    ("union", "count(union(for i in 1..%d return i, for i in %d..%d return i))" % (N, N // 2 + 1, N + N // 2)),
    ("index of", "count(index of(for i in 1..%d return modulo(i, 2), 1))" % N),
    ("list contains", "list contains(for i in 1..%d return i, %d)" % (N, N)),
    ("sort", "sort(for i in 1..%d return %d - i)[1]" % (N, N + 1)),
    ("sort precedes", "sort(for i in 1..%d return %d - i, function(x, y) x < y)[1]" % (N, N + 1)),
    ("mode", "count(mode(for i in 1..%d return modulo(i, 7)))" % N),
    ("split", "count(split(string join(for i in 1..%d return \"a\", \",\"), \",\"))" % N),
    ("context merge", "count(get entries(context merge(for i in 1..%d return context put({}, string(i), i))))" % N),
]
for name, expr in cases:
    secs, res, err = post(expr)
    print("%-24s %8.3f s  result=%s  error=%s" % (name, secs, json.dumps(res)[:40], err))
PY
kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""
