#!/usr/bin/env bash
# Execution Engine benchmark: `make bench-exec` runs this (bench/README.md says what each
# number means). The process is bench/exec_bench.bpmn: start → script → exclusive
# gateway (FEEL condition + default) → parallel fork of two scripts → join → end.
#  1. in-process: build/bench/exec_inproc_bench starts instances through the engine's C API
#     (src/modules/execution/exec.h), each run to its end and committed to a real
#     execution.db in a temporary directory;
#  2. the npm package bpmn-engine running the same graph (bench/exec_bench_js.bpmn:
#     JavaScript scripts, same ids and flows) in memory, installed into a mktemp folder
#     that is removed afterwards (skipped with a note when npm cannot fetch it);
#  3. over HTTP: `flowmaster serve` on a port offset with a temporary data dir; the
#     process is created and published through Process Design (9003), then
#     build/bench/exec_http_bench sends POST /executions to 9005 on 127.0.0.1 only:
#     a closed loop (instances/s) and an open loop at a fixed rate (latency).
# Targets: in-process ≥ 5,000 instances/s and ≥ 10× bpmn-engine; p99 < 5 ms at 200/s.
# It reports, it does not judge: exit 0 whether or not targets are met; 1 when something
# failed to run; 3 when an answer was wrong (not 201 "completed"), which voids a number.
#
# Environment:
#   BENCH_EXEC_N          in-process instances (default 20000)
#   BENCH_EXEC_SECS       closed-loop HTTP seconds (default 5, after 1 s warm-up)
#   BENCH_EXEC_CONNS      closed-loop keep-alive connections (default 8)
#   BENCH_EXEC_RATE       open-loop requests/s (default 200)
#   BENCH_EXEC_LAT_SECS   open-loop seconds (default 10)
#   BENCH_EXEC_JS_SECS    bpmn-engine seconds per run (default 2; 3 runs)
#   BENCH_EXEC_DURABILITY normal | full for the HTTP server (default normal: SQLite
#                         synchronous=NORMAL, WAL); the in-process API always uses NORMAL
#   BENCH_SECTIONS        comma list of inproc,node,http (default all)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_EXEC_N:-20000}
SECS=${BENCH_EXEC_SECS:-5}
CONNS=${BENCH_EXEC_CONNS:-8}
RATE=${BENCH_EXEC_RATE:-200}
LAT_SECS=${BENCH_EXEC_LAT_SECS:-10}
JS_SECS=${BENCH_EXEC_JS_SECS:-2}
DURABILITY=${BENCH_EXEC_DURABILITY:-normal}
SECTIONS=",${BENCH_SECTIONS:-inproc,node,http},"
BIN=build/flowmaster
BPMN=bench/exec_bench.bpmn
TARGET_RATE=5000
TARGET_RATIO=10
TARGET_P99_MS=5

case $DURABILITY in
  normal) SYNC="synchronous=NORMAL" ;;
  full) SYNC="synchronous=FULL" ;;
  *) echo "BENCH_EXEC_DURABILITY: normal or full" >&2; exit 1 ;;
esac
export FLOWMASTER_STORAGE_DURABILITY=$DURABILITY
unset DEBUG   # bpmn-engine logs through `debug`: keep it silent

want() { [[ $SECTIONS == *",$1,"* ]]; }
tmp=$(mktemp -d)
srv=""
status=0
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

kv() {  # kv KEY FILE — value of KEY=… on the file's "result" line
  awk -v k="$1" '$1 == "result" { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$2"
}
note_rc() {  # a helper's exit status: 3 = wrong answers (the number is void), else failure
  if [ "$1" = 3 ]; then [ $status = 1 ] || status=3; elif [ "$1" != 0 ]; then status=1; fi
}

echo "FlowMaster execution bench — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "process: $BPMN (start → script → exclusive gateway → fork of 2 scripts → join → end)"
echo "durability: every instance is one committed SQLite transaction (WAL); HTTP server: $SYNC"
echo ""

# ---------------------------------------------------------------- 1. in-process ------
C_RATE=""
if want inproc; then
  echo "== 1. in-process (C API, no HTTP; real SQLite in a temporary directory)"
  if [ -x build/bench/exec_inproc_bench ]; then
    rc=0
    build/bench/exec_inproc_bench "$BPMN" "$N" >"$tmp/c.txt" || rc=$?
    # exec_bench_open (exec.h) opens execution.db as `serve` does by default:
    # WAL, synchronous=NORMAL, checkpoints off the commit path (BENCH_EXEC_DURABILITY
    # applies to the HTTP part only)
    grep -v '^result ' "$tmp/c.txt" | sed "s/WAL)/WAL, synchronous=NORMAL)/; s/^/  /" || true
    note_rc $rc
    [ $rc = 0 ] && C_RATE=$(kv rate "$tmp/c.txt")
  else
    echo "  build/bench/exec_inproc_bench not built: src/modules/execution/exec.h (the engine's bench API)"
    echo "  is not in this tree yet"
  fi
  echo ""
fi

# ---------------------------------------------------------------- 2. bpmn-engine -----
JS_RATE=""
if want node; then
  echo "== 2. npm bpmn-engine, same graph (bench/exec_bench_js.bpmn), in memory"
  if command -v npm >/dev/null && command -v node >/dev/null &&
     (cd "$tmp" && npm init -y >/dev/null 2>&1 &&
      timeout 120 npm install --silent --no-audit --no-fund bpmn-engine@latest >/dev/null 2>&1); then
    cp bench/exec_bpmn_engine.mjs "$tmp/"
    rc=0
    (cd "$tmp" && timeout 60 node exec_bpmn_engine.mjs "$OLDPWD/$BPMN" "$OLDPWD/bench/exec_bench_js.bpmn" "$JS_SECS") \
      >"$tmp/js.txt" || rc=$?
    grep -v '^best ' "$tmp/js.txt" | sed 's/^/  /' || true
    note_rc $rc
    [ $rc = 0 ] && JS_RATE=$(awk '$1 == "best" { print $2 }' "$tmp/js.txt")
    [ -n "$JS_RATE" ] && echo "  best: $JS_RATE instances/s ($(awk '$1 == "best" { $1 = $2 = ""; sub(/^ +/, ""); print }' "$tmp/js.txt"))"
  else
    echo "  npm install bpmn-engine failed or node missing: no comparison"
  fi
  echo ""
fi

# ---------------------------------------------------------------- 3. HTTP ------------
H_RATE=""; P50=""; P90=""; P99=""; PMAX=""
PORTS=(9000 9002 9003 9005 9006 9007 9008 9009 9010 9011 9013 9014 9015 9016
       8001 8002 8009 8012 8014 8018 8019 8020 8021 3000 3001 3002 3005)
offset_free() {  # offset_free OFF — none of the 27 ports (+OFF) has a listener
  local busy p
  busy=$(ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
  for p in "${PORTS[@]}"; do grep -qx $((p + $1)) <<<"$busy" && return 1; done
  return 0
}
start_server() {
  local off up=0
  for _ in 1 2 3 4 5 6 7 8 9 10; do   # a taken port makes the server exit: try another offset
    # 12000..23699: every port (3000+off .. 9016+off) stays below Linux's ephemeral range
    # (32768-60999), where client sockets of other programs may hold a port
    off=$(( 12000 + RANDOM % 11700 ))
    offset_free "$off" || continue
    # rate limits off (0): at 200 req/s per IP the default limiter would answer 429s
    FLOWMASTER_GATEWAY_RATE_PER_IP=0 FLOWMASTER_GATEWAY_RATE_PER_TENANT=0 \
      "$BIN" serve --listen 127.0.0.1 --data-dir "$tmp/data" --port-offset "$off" \
      >"$tmp/srv.log" 2>&1 &
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
  if [ $up != 1 ]; then echo "  server did not start:"; tail -5 "$tmp/srv.log" | sed 's/^/    /'; return 1; fi
  OFF=$off
}

if want http; then
  echo "== 3. HTTP POST /executions (flowmaster serve, 127.0.0.1, keep-alive; request log on)"
  if start_server; then
    EXE_PORT=$((9005 + OFF))
    # a service-account token minted by the CLI (process:* and execution:*)
    token=$("$BIN" token --service bench --data-dir "$tmp/data" --port-offset "$OFF")
    auth=(-H "Authorization: Bearer $token" -H "X-Tenant-Id: default")
    created=$(curl -s "${auth[@]}" -H "Content-Type: application/xml" --data-binary "@$BPMN" \
              "http://127.0.0.1:$((9003 + OFF))/processes?name=exec-bench")
    pid=$(jq -r '.id // empty' <<<"$created" 2>/dev/null || true)
    if [ -z "$pid" ]; then
      echo "  POST /processes failed: $(head -c 300 <<<"$created")"; status=1
    elif ! pub=$(curl -sf "${auth[@]}" -X POST "http://127.0.0.1:$((9003 + OFF))/processes/$pid/publish"); then
      echo "  POST /processes/$pid/publish failed"; status=1
    else
      echo "  process $pid published as version $(jq -r '.version // "?"' <<<"$pub" 2>/dev/null)"
      # one request by hand first: shows what the engine answers when it is not 201
      first=$(curl -s -o "$tmp/first.json" -w '%{http_code}' "${auth[@]}" -H "Content-Type: application/json" \
              -d "{\"processId\":\"$pid\",\"variables\":{\"amount\":120,\"customer\":\"acme\"}}" \
              "http://127.0.0.1:$EXE_PORT/executions" || true)
      if [ "$first" != 201 ]; then
        echo "  first POST /executions answered $first: $(head -c 300 "$tmp/first.json")"
      fi
      rc=0
      cpu0=$(awk '{ print $14 + $15 }' "/proc/$srv/stat" 2>/dev/null || echo 0)
      build/bench/exec_http_bench closed "$EXE_PORT" "$token" "$pid" "$CONNS" "$SECS" 1 >"$tmp/h.txt" || rc=$?
      cpu1=$(awk '{ print $14 + $15 }' "/proc/$srv/stat" 2>/dev/null || echo 0)
      grep -v '^result ' "$tmp/h.txt" | sed 's/^/  /' || true
      # the server's CPU per answer (warm-up included): steadier than the rate on a shared machine
      answers=$(grep -oE '[0-9]+ answers' "$tmp/h.txt" | head -1 | cut -d' ' -f1)
      [ -n "$answers" ] && [ "$answers" -gt 0 ] && \
        echo "  server CPU per instance: $(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$answers" \
                                           'BEGIN { printf "%.3f ms", t * 1000 / hz / n }')"
      note_rc $rc
      [ $rc = 0 ] && H_RATE=$(kv rate "$tmp/h.txt")
      rc=0
      build/bench/exec_http_bench open "$EXE_PORT" "$token" "$pid" "$RATE" "$LAT_SECS" 8 >"$tmp/l.txt" || rc=$?
      grep -v '^result ' "$tmp/l.txt" | sed 's/^/  /' || true
      note_rc $rc
      if [ $rc = 0 ]; then
        P50=$(kv p50 "$tmp/l.txt"); P90=$(kv p90 "$tmp/l.txt"); P99=$(kv p99 "$tmp/l.txt"); PMAX=$(kv max "$tmp/l.txt")
      fi
      echo "  flowmaster after load: VmRSS $(awk '/^VmRSS:/ { printf "%.1f MB", $2 / 1024 }' "/proc/$srv/status" 2>/dev/null)"
    fi
    kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""
  else
    status=1
  fi
  echo ""
fi

# ---------------------------------------------------------------- summary ------------
meets() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "") { print "-"; exit }
          ok = (op == "ge") ? (a + 0 >= b + 0) : (a + 0 < b + 0); print ok ? "yes" : "NO" }'; }
echo "== summary (targets are reported, not enforced)"
if want inproc; then
  printf '%-42s %-50s %-12s %s\n' "exec in-process (durable, sync=NORMAL)" "${C_RATE:-n/a} instances/s" ">= $TARGET_RATE/s" "$(meets "$C_RATE" ge $TARGET_RATE)"
fi
if want node; then
  printf '%-42s %-50s %-12s %s\n' "bpmn-engine (npm), in memory" "${JS_RATE:-n/a} instances/s" "-" "-"
fi
if want inproc && want node; then
  ratio=""
  [ -n "$C_RATE" ] && [ -n "$JS_RATE" ] && ratio=$(awk -v a="$C_RATE" -v b="$JS_RATE" 'BEGIN { printf "%.1f", a / b }')
  printf '%-42s %-50s %-12s %s\n' "ratio in-process / bpmn-engine" "${ratio:-n/a}${ratio:+x}" ">= ${TARGET_RATIO}x" "$(meets "$ratio" ge $TARGET_RATIO)"
fi
if want http; then
  printf '%-42s %-50s %-12s %s\n' "exec HTTP, closed loop ($CONNS conns, ${SYNC#synchronous=})" "${H_RATE:-n/a} instances/s" "-" "-"
  lat="n/a"
  [ -n "$P99" ] && lat="p99 $P99 ms (p50 $P50, p90 $P90, max $PMAX)"
  printf '%-42s %-50s %-12s %s\n' "exec HTTP latency at $RATE/s (open loop)" "$lat" "p99 < $TARGET_P99_MS ms" "$(meets "$P99" lt $TARGET_P99_MS)"
fi
echo ""
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPU(s): load generator,"
echo "server and Node share these cores; compare runs on an idle machine."
[ $status = 3 ] && echo "INVALID: some answers were not 201 \"completed\"; numbers next to them are void"
exit $status
