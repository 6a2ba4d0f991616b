#!/usr/bin/env bash
# bench/run.sh — FlowMaster benchmarks: start-up time, idle memory, HTTP throughput
# against a bare CivetWeb hello-world. See bench/README.md for what each number means.
#
# Usage (from the repository root):  bench/run.sh [path-to-flowmaster]   (default build/flowmaster)
#
# Environment:
#   BENCH_DURATION      wrk duration per throughput run (default 10s; e.g. 3s for a quick run)
#   BENCH_WARMUP        unreported wrk warm-up before each run (default 1s; 0 = none)
#   BENCH_PORT_OFFSET   port offset for flowmaster (default: first free of 20000 21000 ...)
#   BENCH_HELLO_PORT    port of the hello-world baseline (default offset + 1999)
#   BENCH_WARM_RUNS     number of warm start-up runs (default 10)
#   BENCH_SECTIONS      comma list of startup,rss,http,hello,auth (default all)
#   CC                  C compiler for the helpers (default cc)
#
# It reports; it does not judge: exit 0 whether targets are met or not, 1 when something
# failed to run (build, start, a port busy, wrk missing, non-2xx answers under load).
# All traffic goes to 127.0.0.1 only. Every process it starts is stopped on exit.
set -euo pipefail

FM=${1:-build/flowmaster}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-1s}
WARM_RUNS=${BENCH_WARM_RUNS:-10}
SECTIONS=",${BENCH_SECTIONS:-startup,rss,http,hello,auth},"
CC=${CC:-cc}
HOST=127.0.0.1
BENCH_BIN=build/bench

# Targets (docs/DESIGN): start-up ≤ 150 ms, idle RSS ≤ 20 MB, HTTP within 15 % of hello.
TARGET_STARTUP_MS=150
TARGET_RSS_MB=20
TARGET_HTTP_PCT=85

CANONICAL_PORTS=(9000 9002 9003 9005 9006 9007 9008 9009 9010 9011 9013 9014 9015 9016
                 8001 8002 8009 8012 8014 8018 8019 8020 8021 3000 3001 3002 3005)

want() { [[ $SECTIONS == *",$1,"* ]]; }
log() { printf '%s\n' "$*"; }
fail() { printf 'bench: FAILED: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- cleanup ---------
PIDS=()
TMP=""
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM HUP
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # mg_stop alone takes ~2 s; allow 15 s before SIGKILL.
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            printf 'bench: pid %s did not stop after SIGTERM; sending SIGKILL\n' "$pid" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    [[ -n $TMP && -d $TMP ]] && rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

forget_pid() {  # forget_pid PID — it was stopped and reaped already
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

STOP_RC=0
stop_pid() {    # stop_pid PID — SIGTERM, wait (SIGKILL after 15 s); exit status → STOP_RC
    local pid=$1 i rc=0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        printf 'bench: pid %s did not stop 15 s after SIGTERM; sending SIGKILL\n' "$pid" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    forget_pid "$pid"
    STOP_RC=$rc
}

# ---------------------------------------------------------------- ports -----------
listening_set() {  # prints the TCP ports something listens on (one per line)
    if have ss; then
        ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }'
    else
        awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null
    fi
}

ports_free() {     # ports_free PORT... — true when none of them is in use
    local busy p
    busy=$(listening_set | sort -u)
    for p in "$@"; do
        grep -qx "$p" <<<"$busy" && return 1
    done
    return 0
}

fm_ports() {       # fm_ports OFFSET — the 27 listen ports
    local p
    for p in "${CANONICAL_PORTS[@]}"; do echo $((p + $1)); done
}

wait_listening() { # wait_listening PID TIMEOUT_S PORT... — every port listening, PID alive
    local pid=$1 timeout=$2 deadline now set p missing
    shift 2
    deadline=$(($(date +%s%N) + timeout * 1000000000))
    while :; do
        kill -0 "$pid" 2>/dev/null || return 2
        set=$(listening_set | sort -u)
        missing=()
        for p in "$@"; do grep -qx "$p" <<<"$set" || missing+=("$p"); done
        [[ ${#missing[@]} -eq 0 ]] && return 0
        now=$(date +%s%N)
        if ((now > deadline)); then
            printf 'bench: not listening after %ss: %s\n' "$timeout" "${missing[*]}" >&2
            return 1
        fi
        sleep 0.02
    done
}

# ---------------------------------------------------------------- helpers ---------
num_fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
to_ms() {  # to_ms "1.23ms" | "850.00us" | "1.20s" → milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "%s", v }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
yesno() {         # yesno A OP B  (OP: le | ge) → yes / NO, numerically
    if awk -v a="$1" -v op="$2" -v b="$3" \
        'BEGIN { a += 0; b += 0; exit !((op == "le") ? (a <= b) : (a >= b)) }'; then
        echo yes
    else
        echo NO
    fi
}

INVALID=0
declare -A RPS P99 NON2XX SOCKERR

run_wrk() {        # run_wrk KEY URL [HEADER...] — fills RPS[KEY], P99[KEY] (ms), NON2XX[KEY], SOCKERR[KEY]
    local key=$1 url=$2 out hdr=()
    shift 2
    for h in "$@"; do hdr+=(-H "$h"); done
    # Unreported warm-up: connections, worker threads and caches are hot when measuring.
    if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
        wrk -t2 -c64 -d"$WARMUP" "${hdr[@]}" "$url" >/dev/null 2>&1 || true
    fi
    out=$(wrk -t2 -c64 -d"$DURATION" --latency "${hdr[@]}" "$url" 2>&1) || {
        printf '%s\n' "$out" >&2
        fail "wrk against $url"
    }
    RPS[$key]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P99[$key]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    NON2XX[$key]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    SOCKERR[$key]=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' <<<"$out")
    [[ -n ${RPS[$key]} && -n ${P99[$key]} ]] || {
        printf '%s\n' "$out" >&2
        fail "could not parse wrk output for $url"
    }
    local line
    line=$(printf '  %-44s %10s req/s   p99 %8s ms' "$url" "$(num_fmt "${RPS[$key]}")" "${P99[$key]}")
    if [[ -n ${NON2XX[$key]} ]]; then
        line+="   !! ${NON2XX[$key]} non-2xx responses: measurement INVALID"
        INVALID=1
    fi
    [[ -n ${SOCKERR[$key]} ]] && line+="   (socket errors: ${SOCKERR[$key]})"
    log "$line"
    if [[ -n ${NON2XX[$key]} ]]; then
        # Which statuses? One more second of load, counted by a Lua script.
        wrk -t2 -c64 -d1s -s "$TMP/status.lua" "$url" 2>&1 |
            awk '/^(statuses|sample) / { print "      " $0 }' || true
    fi
}

# ---------------------------------------------------------------- preflight -------
[[ -f bench/run.sh && -f bench/hello.c ]] || fail "run me from the repository root (bench/run.sh)"
needs_fm=0
for s in startup rss http; do want "$s" && needs_fm=1; done
if ((needs_fm)); then
    [[ -x $FM ]] || fail "flowmaster binary '$FM' not found or not executable (build it: make)"
    [[ $FM == */* ]] || FM=./$FM
fi
if want http || want hello; then
    have wrk || fail "wrk not installed (scripts/deps.sh bench)"
fi

mkdir -p "$BENCH_BIN"
"$CC" -std=c11 -O2 -o "$BENCH_BIN/hello" bench/hello.c -lcivetweb -lpthread ||
    fail "building $BENCH_BIN/hello (needs libcivetweb-dev)"
"$CC" -std=c11 -O2 -o "$BENCH_BIN/startup" bench/startup.c ||
    fail "building $BENCH_BIN/startup"

# Port offset: the flowmaster ports must stay below the ephemeral range (32768+), where an
# unused port can "accept" by TCP self-connect, and must all be free.
ephemeral_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
if [[ -n ${BENCH_PORT_OFFSET:-} ]]; then
    OFFSET=$BENCH_PORT_OFFSET
    [[ $OFFSET =~ ^[0-9]+$ ]] || fail "BENCH_PORT_OFFSET must be a number"
    mapfile -t FM_PORTS < <(fm_ports "$OFFSET")
    ports_free "${FM_PORTS[@]}" || fail "some of ports $((3000 + OFFSET))..$((9016 + OFFSET)) (offset $OFFSET) are in use"
else
    OFFSET=""
    for o in 20000 21000 22000 23000 10000 11000 12000 13000 14000 15000; do
        mapfile -t FM_PORTS < <(fm_ports "$o")
        if ports_free "${FM_PORTS[@]}" $((o + 1999)); then OFFSET=$o; break; fi
    done
    [[ -n $OFFSET ]] || fail "no free port offset found; set BENCH_PORT_OFFSET"
fi
mapfile -t FM_PORTS < <(fm_ports "$OFFSET")
((9016 + OFFSET < 65536)) || fail "port offset $OFFSET too large"
((9016 + OFFSET < ephemeral_lo)) ||
    log "bench: warning: ports up to $((9016 + OFFSET)) reach the ephemeral range (from $ephemeral_lo)"
HELLO_PORT=${BENCH_HELLO_PORT:-$((OFFSET + 1999))}
ports_free "$HELLO_PORT" || fail "hello-world port $HELLO_PORT is in use; set BENCH_HELLO_PORT"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flowmaster-bench.XXXXXX")
SERVE_ARGS=(serve --listen "$HOST" --port-offset "$OFFSET")
# The per-IP/per-tenant token buckets (default 200 req/s per IP) would answer 429 to a
# load generator. Raise them out of reach instead of turning them off (0), so the
# limiter's per-request cost is still in the numbers.
RATE_ENV=(FLOWMASTER_GATEWAY_RATE_PER_IP=10000000 FLOWMASTER_GATEWAY_BURST_PER_IP=10000000
          FLOWMASTER_GATEWAY_RATE_PER_TENANT=10000000 FLOWMASTER_GATEWAY_BURST_PER_TENANT=10000000)
cat >"$TMP/status.lua" <<'LUA'
-- wrk script: tally response statuses, keep one non-2xx body (diagnostics only)
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {}; sample = nil end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status >= 300 and sample == nil then sample = body end
end
function done(summary, latency, requests)
  local total, sample_out = {}, nil
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    sample_out = sample_out or t:get("sample")
  end
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do table.insert(parts, k .. ": " .. total[k]) end
  io.write("statuses ", table.concat(parts, ", "), "\n")
  if sample_out then io.write("sample ", string.sub(sample_out, 1, 200), "\n") end
end
LUA

# ---------------------------------------------------------------- header ----------
log "FlowMaster benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
((needs_fm)) && log "binary:   $FM ($("$FM" version 2>/dev/null | head -n1 || echo 'version unknown'))"
log "machine:  $(nproc) CPU(s), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
log "ports:    offset $OFFSET (flowmaster $((3000 + OFFSET))..$((9016 + OFFSET))), hello-world $HELLO_PORT, host $HOST"
log "wrk:      -t2 -c64 -d$DURATION --latency after a $WARMUP warm-up (BENCH_DURATION, BENCH_WARMUP)"
fm_env=$(env | grep -E '^FLOWMASTER_' | cut -d= -f1 | tr '\n' ' ' || true)
[[ -n $fm_env ]] && log "env:      passed to flowmaster: $fm_env(FLOWMASTER_LOG_REQUESTS is set per run)"
log ""

# ---------------------------------------------------------------- start-up --------
COLD=""; WARM_MED=""; WARM_MIN=""; WARM_MAX=""
STARTUP_MS=""
STOP_NOTES=()
startup_once() {   # startup_once DATADIR — elapsed ms → STARTUP_MS
    local out err pid rc=0
    out="$TMP/startup.out"
    err="$TMP/startup.err"
    "$BENCH_BIN/startup" "$OFFSET" "$FM" "${SERVE_ARGS[@]}" --data-dir "$1" >"$out" 2>"$err" &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    if ((rc != 0)); then
        cat "$err" >&2
        fail "start-up run (bench/startup exit $rc; try: $FM ${SERVE_ARGS[*]} --data-dir $1)"
    fi
    # bench/startup sends SIGTERM as soon as the last port accepts; how the child ended.
    if grep -q 'after SIGTERM' "$err"; then
        STOP_NOTES+=("$(sed -n 's/^startup: warning: after SIGTERM the child //p' "$err" | head -n1)")
    fi
    STARTUP_MS=$(<"$out")
}

if want startup; then
    log "== start-up: exec until all 27 ports accept (target ≤ $TARGET_STARTUP_MS ms)"
    mkdir -p "$TMP/data"
    startup_once "$TMP/data"
    COLD=$STARTUP_MS
    log "  cold (empty data dir, migrations applied):  $COLD ms"
    warm=()
    for ((r = 1; r <= WARM_RUNS; r++)); do
        startup_once "$TMP/data"
        warm+=("$STARTUP_MS")
    done
    read -r WARM_MED WARM_MIN WARM_MAX < <(printf '%s\n' "${warm[@]}" | sort -n | awk '
        { v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }')
    log "  warm ($WARM_RUNS runs, same data dir):  median $WARM_MED ms, min $WARM_MIN ms, max $WARM_MAX ms"
    log "  runs: ${warm[*]}"
    if ((${#STOP_NOTES[@]} > 0)); then
        log "  note: SIGTERM sent the moment the last port accepted did not end serve cleanly in"
        log "        ${#STOP_NOTES[@]} of $((WARM_RUNS + 1)) runs ($(printf '%s\n' "${STOP_NOTES[@]}" | sort | uniq -c | sed 's/^ *//' | paste -sd, -))"
        log "        (a clean stop exits 0; e.g. signal handlers installed only after the ports open)"
    fi
    log ""
fi

# ---------------------------------------------------------------- flowmaster ------
FM_PID=""
start_fm() {       # start_fm DATADIR [ENV=VAL...] — serve in the background → FM_PID
    local data=$1 rc=0
    shift
    mkdir -p "$data"
    # stdout and stderr (the request log) go to /dev/null: the logging cost is paid
    # (formatting + one write per line) without filling a disk.
    env -u FLOWMASTER_LOG_REQUESTS "$@" "$FM" "${SERVE_ARGS[@]}" --data-dir "$data" \
        >/dev/null 2>&1 &
    FM_PID=$!
    PIDS+=("$FM_PID")
    wait_listening "$FM_PID" 10 "${FM_PORTS[@]}" || rc=$?
    ((rc == 0)) && return 0
    # Did not come up: stop it, then run it once more for 5 s with stderr kept, to say why.
    stop_pid "$FM_PID"
    env -u FLOWMASTER_LOG_REQUESTS "$@" timeout 5 "$FM" "${SERVE_ARGS[@]}" --data-dir "$data" \
        >/dev/null 2>"$TMP/serve.err" || true
    printf 'bench: flowmaster stderr (last lines):\n' >&2
    tail -n 20 "$TMP/serve.err" >&2 || true
    fail "flowmaster serve did not come up: $FM ${SERVE_ARGS[*]} --data-dir $data"
}
stop_fm() {
    stop_pid "$FM_PID"
    ((STOP_RC == 0)) || log "  (note: flowmaster exited with status $STOP_RC after SIGTERM)"
    FM_PID=""
}

RSS_KB=""; HWM_KB=""; THREADS=""; RSS_LOAD_KB=""; HWM_LOAD_KB=""
read_mem() {       # read_mem PID → "VmRSS_kB VmHWM_kB Threads"
    awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^Threads:/ { t = $2 }
         END { print r, h, t }' "/proc/$1/status"
}

if want rss || want http; then
    # Same data dir as the start-up runs: already migrated when those ran.
    if [[ -d $TMP/data ]]; then DATA_STATE="data dir already migrated"; else DATA_STATE="fresh data dir"; fi
    start_fm "$TMP/data" "${RATE_ENV[@]}"
fi

if want rss; then
    log "== idle memory: serve up, all ports listening, +1 s (target VmRSS ≤ $TARGET_RSS_MB MB)"
    sleep 1
    read -r RSS_KB HWM_KB THREADS < <(read_mem "$FM_PID")
    log "  VmRSS $(mb "$RSS_KB") MB   VmHWM $(mb "$HWM_KB") MB   threads $THREADS   ($DATA_STATE)"
    log ""
fi

if want hello; then
    log "== throughput: bare CivetWeb hello-world (baseline)"
    "$BENCH_BIN/hello" "$HELLO_PORT" >/dev/null 2>&1 &
    HELLO_PID=$!
    PIDS+=("$HELLO_PID")
    wait_listening "$HELLO_PID" 10 "$HELLO_PORT" || fail "hello-world did not come up on $HELLO_PORT"
    read -r HELLO_RSS_KB _ HELLO_THREADS < <(read_mem "$HELLO_PID")
    log "  idle VmRSS $(mb "$HELLO_RSS_KB") MB, threads $HELLO_THREADS (CivetWeb alone, for comparison)"
    run_wrk hello "http://$HOST:$HELLO_PORT/"
    stop_pid "$HELLO_PID"
    log ""
fi

MOD_PORT=$((8001 + OFFSET))
GW_PORT=$((9000 + OFFSET))
if want http; then
    log "== throughput: flowmaster GET /health (request log on, stderr → /dev/null)"
    log "  (rate limits raised to 10000000/s via FLOWMASTER_GATEWAY_*: the limiter runs, never answers 429)"
    run_wrk module "http://$HOST:$MOD_PORT/health"
    run_wrk gateway "http://$HOST:$GW_PORT/health"
    # Authentication's cost: an authenticated GET of about the same work as /health
    # (the registry's in-memory view of a module), through the gateway, token from the CLI.
    TOKEN=$("$FM" token --service bench --data-dir "$TMP/data" --port-offset "$OFFSET" 2>/dev/null || true)
    if [[ -n $TOKEN ]]; then
        log "  authenticated (service-account token, X-Tenant-Id: default):"
        # /health with the token: same handler, plus header parsing and the token check
        run_wrk gateway_tok "http://$HOST:$GW_PORT/health" \
            "Authorization: Bearer $TOKEN" "X-Tenant-Id: default"
        # a protected route: token, tenant, permission, then a handler that builds JSON
        run_wrk gateway_auth "http://$HOST:$GW_PORT/services/registry/health" \
            "Authorization: Bearer $TOKEN" "X-Tenant-Id: default"
    else
        log "  (no token from 'flowmaster token': authenticated run skipped)"
    fi
    if [[ -d /proc/$FM_PID ]]; then
        read -r RSS_LOAD_KB HWM_LOAD_KB _ < <(read_mem "$FM_PID")
        log "  memory after load: VmRSS $(mb "$RSS_LOAD_KB") MB   VmHWM $(mb "$HWM_LOAD_KB") MB"
    fi
    stop_fm
    log ""
    log "== throughput: flowmaster GET /health with FLOWMASTER_LOG_REQUESTS=false"
    start_fm "$TMP/data" "${RATE_ENV[@]}" FLOWMASTER_LOG_REQUESTS=false
    run_wrk module_nolog "http://$HOST:$MOD_PORT/health"
    stop_fm
    log ""
elif [[ -n $FM_PID ]]; then
    stop_fm
fi

if want auth; then
    log "== authentication in-process (bench/auth_bench.c)"
    if [[ -x build/bench/auth_bench ]]; then
        build/bench/auth_bench 2 | sed 's/^/  /' | tee -a "$TMP/auth.out" | while read -r l; do log "$l"; done
    else
        log "  build/bench/auth_bench missing (make bench builds it)"
    fi
    log ""
fi

# ---------------------------------------------------------------- summary ---------
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }
row() { printf '%-34s %-42s %-20s %s\n' "$@"; }

log "== summary (targets are reported, not enforced)"
row "metric" "value" "target" "meets"
row "------" "-----" "------" "-----"
if want startup; then
    row "start-up, cold" "$COLD ms" "<= $TARGET_STARTUP_MS ms" "$(yesno "$COLD" le "$TARGET_STARTUP_MS")"
    row "start-up, warm median" "$WARM_MED ms (min $WARM_MIN, max $WARM_MAX)" "<= $TARGET_STARTUP_MS ms" "$(yesno "$WARM_MED" le "$TARGET_STARTUP_MS")"
fi
if want rss; then
    row "idle VmRSS" "$(mb "$RSS_KB") MB (VmHWM $(mb "$HWM_KB") MB)" "<= $TARGET_RSS_MB MB" "$(yesno "$RSS_KB" le $((TARGET_RSS_MB * 1024)))"
fi
if want hello; then
    row "hello-world /" "$(num_fmt "${RPS[hello]}") req/s, p99 ${P99[hello]} ms" "baseline" "-"
fi
if want http; then
    for k in module gateway module_nolog; do
        case $k in
            module) label="registry 8001 /health" ;;
            gateway) label="gateway 9000 /health" ;;
            module_nolog) label="registry 8001 /health, log off" ;;
        esac
        if want hello; then
            p=$(pct "${RPS[$k]}" "${RPS[hello]}")
            m=$(yesno "$p" ge "$TARGET_HTTP_PCT")
            [[ -n ${NON2XX[$k]} ]] && m="INVALID (non-2xx)"
            row "$label" "$(num_fmt "${RPS[$k]}") req/s = $p %, p99 ${P99[$k]} ms" ">= $TARGET_HTTP_PCT % of hello" "$m"
        else
            row "$label" "$(num_fmt "${RPS[$k]}") req/s, p99 ${P99[$k]} ms" "-" "-"
        fi
    done
    if [[ -n ${RPS[gateway_tok]:-} ]]; then
        row "gateway /health + token check" "$(num_fmt "${RPS[gateway_tok]}") req/s = $(pct "${RPS[gateway_tok]}" "${RPS[gateway]}") % of public /health, p99 ${P99[gateway_tok]} ms" ">= 90 % of /health" \
            "$(yesno "$(pct "${RPS[gateway_tok]}" "${RPS[gateway]}")" ge 90)"
    fi
    if [[ -n ${RPS[gateway_auth]:-} ]]; then
        row "gateway, authenticated GET" "$(num_fmt "${RPS[gateway_auth]}") req/s = $(pct "${RPS[gateway_auth]}" "${RPS[gateway]}") % of public /health, p99 ${P99[gateway_auth]} ms" ">= 90 % of /health" \
            "$(yesno "$(pct "${RPS[gateway_auth]}" "${RPS[gateway]}")" ge 90)"
    fi
    if [[ -n ${RPS[module]} && -n ${RPS[module_nolog]} ]]; then
        log ""
        log "request log on: $(num_fmt "${RPS[module]}") req/s, off: $(num_fmt "${RPS[module_nolog]}") req/s → logging costs $(awk -v a="${RPS[module]}" -v b="${RPS[module_nolog]}" \
            'BEGIN { printf "%.1f", 100 * (1 - a / b) }') % of registry throughput (negative: within noise)."
    fi
fi

log ""
log "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) on $(nproc) CPU(s)\
 — other work on the machine makes these numbers noisy; compare runs on an idle machine."

((INVALID == 0)) || fail "some endpoints answered non-2xx under load; the numbers above marked INVALID are not throughput"
exit 0
