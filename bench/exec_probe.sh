#!/usr/bin/env bash
# Execution Engine probe (issue 10 item 2): how long a multi-instance activity over a
# large collection takes, and how long an unrelated POST /executions waits meanwhile.
# `make bench-exec-probe` runs it; `bench/exec_probe.sh [path-to-flowmaster]` too.
#
# It starts its own `flowmaster serve` on 127.0.0.1 (a free port offset whose ports all
# stay below 32768) with a temporary data directory, publishes two processes through
# Process Design (9003):
#   mi:    start → task "each" (parallel multi-instance, inputCollection =items,
#          inputElement item, outputCollection results, outputElement =item * 2) → end
#   small: start → end
# and then, for each size in BENCH_PROBE_SIZES, POSTs one `mi` instance with
# items = [0 .. n-1] and polls GET /executions/{id} until it is completed (checking the
# output: n entries, results[i] = 2i). The time printed is from the POST to the poll
# that saw it completed (polls every 20 ms, of the list, which does not read the large
# document), with the CPU time the server used meanwhile: on a shared machine the
# wall-clock time also measures the neighbours. During the largest size a second thread
# POSTs `small` instances one after the other and prints their latency: a POST that
# waits for the big instance shows up there.
# Bounded: every request times out after BENCH_PROBE_TIMEOUT seconds (default 120); a
# size that does not finish in time is reported as such and the probe goes on.
# It reports, it does not judge: exit 0 unless something failed to run.
#
# Environment:
#   BENCH_PROBE_SIZES    comma list of collection sizes (default 20000,80000,160000)
#   BENCH_PROBE_TIMEOUT  seconds per size (default 120)
#   BENCH_PROBE_OUTPUT   outputElement of the iterations (default "=item * 2"); "none":
#                        no outputCollection/outputElement (no FEEL per iteration)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/flowmaster}
SIZES=${BENCH_PROBE_SIZES:-20000,80000,160000}
TIMEOUT=${BENCH_PROBE_TIMEOUT:-120}
OUTPUT=${BENCH_PROBE_OUTPUT:-=item * 2}
[ -x "$BIN" ] || { echo "no $BIN (make all)" >&2; exit 1; }
tmp=$(mktemp -d)
srv=""
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORTS=(9000 9002 9003 9005 9006 9007 9008 9009 9010 9011 9013 9014 9015 9016
       8001 8002 8009 8012 8014 8018 8019 8020 8021 3000 3001 3002 3005)
offset_free() {
  local busy p
  busy=$(ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
  for p in "${PORTS[@]}"; do grep -qx $((p + $1)) <<<"$busy" && return 1; done
  return 0
}
up=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  off=$(( 12000 + RANDOM % 11700 ))     # 3000+off .. 9016+off < 32768
  offset_free "$off" || continue
  FLOWMASTER_GATEWAY_RATE_PER_IP=0 FLOWMASTER_GATEWAY_RATE_PER_TENANT=0 \
  FLOWMASTER_SERVER_BODY_LIMIT=$((64 << 20)) FLOWMASTER_EXECUTION_MI_MAX_ITEMS=10000000 \
  FLOWMASTER_LOG_REQUESTS=false \
    "$BIN" serve --listen 127.0.0.1 --data-dir "$tmp/data" --port-offset "$off" >"$tmp/srv.log" 2>&1 &
  srv=$!
  for _ in $(seq 150); do
    kill -0 "$srv" 2>/dev/null || break
    if curl -sf "http://127.0.0.1:$((9005 + off))/health" >/dev/null 2>&1 &&
       curl -sf "http://127.0.0.1:$((9003 + off))/health" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  [ $up = 1 ] && break
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""
done
if [ $up != 1 ]; then echo "server did not start:"; tail -5 "$tmp/srv.log"; exit 1; fi
token=$("$BIN" token --service probe --data-dir "$tmp/data" --port-offset "$off")

echo "FlowMaster execution probe — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $BIN (built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ))"
python3 - "$off" "$token" "$SIZES" "$TIMEOUT" "$OUTPUT" "$srv" <<'PY'
import json, os, sys, threading, time, urllib.request, urllib.error

off, token, sizes, timeout = int(sys.argv[1]), sys.argv[2], [int(x) for x in sys.argv[3].split(",")], float(sys.argv[4])
output = None if sys.argv[5] == "none" else sys.argv[5]
srv_pid = int(sys.argv[6])

def cpu():
    """CPU seconds the server used so far (user + system): on a shared machine the
    wall-clock time also measures the neighbours, this does not."""
    try:
        f = open("/proc/%d/stat" % srv_pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")
H = {"Authorization": "Bearer " + token, "X-Tenant-Id": "default"}

def req(method, port, path, body=None, ctype="application/json", t=timeout):
    data = None
    h = dict(H)
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = ctype
    r = urllib.request.Request("http://127.0.0.1:%d%s" % (port + off, path), data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(r, timeout=t) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except (TimeoutError, OSError) as e:       # no answer in time: reported, not fatal
        return 0, {"error": str(e)}

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"')
def deploy(pid, body):
    xml = ('<?xml version="1.0"?><bpmn:definitions %s id="d_%s" targetNamespace="x">'
           '<bpmn:process id="%s" isExecutable="true">%s</bpmn:process></bpmn:definitions>' % (NS, pid, pid, body))
    s, p = req("POST", 9003, "/processes", xml.encode(), "application/xml")
    assert s == 201, (s, p)
    s, v = req("POST", 9003, "/processes/%s/publish" % p["id"], {})
    assert s == 201, (s, v)
    return p["id"]

mi = deploy("probe_mi",
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="each"/>'
    '<bpmn:task id="each"><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>'
    '<zeebe:loopCharacteristics inputCollection="=items" inputElement="item"%s/></bpmn:extensionElements>'
    '</bpmn:multiInstanceLoopCharacteristics></bpmn:task>'
    % (' outputCollection="results" outputElement="%s"' % output.replace('"', "&quot;") if output else "") +
    '<bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="e"/><bpmn:endEvent id="e"/>')
small = deploy("probe_small",
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/><bpmn:endEvent id="e"/>')
s, w = req("POST", 9005, "/executions", {"processId": small})
assert s == 201 and w["state"] == "completed", (s, w)

def run_mi(n):
    """Seconds from the POST to completed, or None (timeout / wrong answer, printed)."""
    t0, c0 = time.monotonic(), cpu()
    s, o = req("POST", 9005, "/executions", {"processId": mi, "variables": {"items": list(range(n))}})
    if s == 0:
        print("  %7d items: no answer within %.0f s" % (n, timeout))
        return None
    if s != 201:
        print("  n=%d: POST answered %d: %.200s" % (n, s, json.dumps(o)))
        return None
    eid, posted, first = o["id"], time.monotonic() - t0, o.get("state")
    # polled through the list (a count), which does not read the large document
    done = o.get("state") != "active"
    while not done and time.monotonic() - t0 < timeout:
        time.sleep(0.02)
        s, l = req("GET", 9005, "/executions?processId=%s&state=active&limit=1" % mi,
                   t=max(1, timeout - (time.monotonic() - t0)))
        done = s == 200 and l["total"] == 0
    dt, dc = time.monotonic() - t0, cpu() - c0
    s, o = req("GET", 9005, "/executions/" + eid)
    if o.get("state") != "completed":
        print("  %7d items: %s after %.1f s (incidents %s)" % (n, o.get("state", "no answer"), dt, o.get("incidents")))
        return None
    r = o["variables"].get("results")
    if output == "=item * 2" and (not isinstance(r, list) or len(r) != n or
                                  any(r[i] != 2 * i for i in (0, n // 2, n - 1))):
        print("  n=%d: wrong output collection" % n)
        return None
    return dt, dc, posted, first

print("multi-instance (parallel task, %s), POST → completed:"
      % ("outputElement %s" % output if output else "no output collection"))
res = {}
def show(n, r):
    if r is not None:
        print("  %7d items: %7.2f s  (%.1f µs/item; server CPU %.2f s, %.1f µs/item; the POST answered "
              "after %.2f s, %s)" % (n, r[0], r[0] / n * 1e6, r[1], r[1] / n * 1e6, r[2], r[3]))

for n in sizes[:-1]:
    res[n] = run_mi(n)
    show(n, res[n])

# the largest one, with unrelated POSTs meanwhile
big = sizes[-1]
lat, stop = [], threading.Event()
def other():
    while not stop.is_set():
        t = time.monotonic()
        s, o = req("POST", 9005, "/executions", {"processId": small})
        lat.append(time.monotonic() - t if s == 201 else float("inf"))
        time.sleep(0.05)
th = threading.Thread(target=other)
time.sleep(0.1)
th.start()
res[big] = run_mi(big)
stop.set()
th.join()
show(big, res[big])
ok = sorted(x for x in lat if x != float("inf"))
lost = len(lat) - len(ok)
if ok:
    print("unrelated POST /executions while the %d-item instance ran: %d answered, median %.1f ms, max %.1f ms%s"
          % (big, len(ok), ok[len(ok) // 2] * 1e3, ok[-1] * 1e3,
             "; %d more got no answer within %.0f s" % (lost, timeout) if lost else ""))
else:
    print("unrelated POST /executions while the %d-item instance ran: none answered within %.0f s (%d sent)"
          % (big, timeout, lost))
PY
echo "server VmRSS after: $(awk '/^VmRSS:/ { printf "%.1f MB", $2 / 1024 }' "/proc/$srv/status" 2>/dev/null)"
