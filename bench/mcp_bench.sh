#!/usr/bin/env bash
# MCP Server benchmark: `make bench-mcp` runs this. `flowmaster serve` on a free port
# offset with a temporary data dir (rate limits off); one process is created through
# Process Design; then build/bench/mcp_bench calls the read tool get_process with
# tools/call over Streamable HTTP (POST 9000 /mcp, keep-alive) from 8 sessions, one
# connection each, in a closed loop, on 127.0.0.1 only. Target: ≥ 10,000 calls/s.
# It reports, it does not judge: exit 0 whether or not the target is met; 1 when something
# failed to run; 3 when an answer was wrong (which voids the number).
# Then the same call over stdio: `flowmaster mcp --url …` fed BENCH_MCP_STDIO_CALLS
# requests on stdin (one client, one at a time, as an MCP host drives it), timed end to end.
#
# Environment: BENCH_MCP_SESSIONS (default 8), BENCH_MCP_SECS (default 5),
# BENCH_MCP_STDIO_CALLS (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${BENCH_MCP_SESSIONS:-8}
SECS=${BENCH_MCP_SECS:-5}
BIN=build/flowmaster
tmp=$(mktemp -d)
srv=""
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

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
  off=$(( 12000 + RANDOM % 11700 ))
  offset_free "$off" || continue
  FLOWMASTER_GATEWAY_RATE_PER_IP=0 FLOWMASTER_GATEWAY_RATE_PER_TENANT=0 \
    "$BIN" serve --listen 127.0.0.1 --data-dir "$tmp/data" --port-offset "$off" >"$tmp/srv.log" 2>&1 &
  srv=$!
  for _ in $(seq 150); do
    kill -0 "$srv" 2>/dev/null || break
    if curl -sf "http://127.0.0.1:$((9000 + off))/health" >/dev/null 2>&1 &&
       curl -sf "http://127.0.0.1:$((9003 + off))/health" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  [ $up = 1 ] && break
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""
done
if [ $up != 1 ]; then echo "server did not start:"; tail -5 "$tmp/srv.log"; exit 1; fi

token=$("$BIN" token --service bench --data-dir "$tmp/data" --port-offset "$off")
xml='<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><process id="mcp_bench" isExecutable="true"><startEvent id="s"/><endEvent id="e"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/></process></definitions>'
created=$(curl -s -H "Authorization: Bearer $token" -H "X-Tenant-Id: default" -H "Content-Type: application/xml" \
          --data-binary "$xml" "http://127.0.0.1:$((9003 + off))/processes?name=mcp-bench")
pid=$(jq -r '.id // empty' <<<"$created" 2>/dev/null || true)
if [ -z "$pid" ]; then echo "POST /processes failed: $(head -c 300 <<<"$created")"; exit 1; fi
echo "machine: $(nproc) cores; server and load generator share them"
echo "== tools/call get_process($pid), $SESSIONS sessions, ${SECS}s (target ≥ 10,000 calls/s)"
build/bench/mcp_bench "$((9000 + off))" "$token" "$pid" "$SESSIONS" "$SECS"

N=${BENCH_MCP_STDIO_CALLS:-2000}
echo "== the same call over stdio: flowmaster mcp --url, $N requests in a row, one client"
{
  echo '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
  echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  for i in $(seq "$N"); do
    echo "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"get_process\",\"arguments\":{\"processId\":\"$pid\"}}}"
  done
} >"$tmp/stdio.in"
t0=$(date +%s.%N)
FLOWMASTER_MCP_TOKEN="$token" "$BIN" mcp --url "http://127.0.0.1:$((9000 + off))" <"$tmp/stdio.in" >"$tmp/stdio.out" 2>"$tmp/stdio.err"
t1=$(date +%s.%N)
got=$(grep -c '"structuredContent"' "$tmp/stdio.out" || true)
if [ "$got" != "$N" ]; then echo "stdio: $got of $N answers were results"; tail -3 "$tmp/stdio.err"; exit 3; fi
awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { s = b - a; printf "stdio: %d calls in %.2f s: %.0f calls/s, %.3f ms per call (including the process start and initialize)\n", n, s, n / s, s * 1000 / n }'
