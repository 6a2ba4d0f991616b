#!/usr/bin/env bash
# Event bus benchmark: `make bench-bus` runs this (bench/README.md says what each number
# means).
#  1-3. build/bench/bus_bench: publish → deliver in memory; the durable log's append rate
#       (1000 per transaction); publish → durable log through the bus's group commit;
#  4.   bench/bus_webhook_bench.py: webhook deliveries/s, 100 subscriptions (100 in
#       flight) to a local receiver;
#  5.   the Execution Engine over HTTP (bench/exec_bench.sh, section http) with the log
#       off (FLOWMASTER_EVENTBUS_LOG=false: no subscriber wants the engine's events, so
#       it writes none), on (the default: instance, job and incident events go to the
#       outbox and the log; [eventbus] log_skip leaves out execution.element.*) and all
#       (log_skip empty: every engine event, per step too). Rate and server CPU per instance.
# Targets: ≥ 1,000,000 events/s in memory; ≥ 100,000 events/s into the log; engine with
# the log ≤ 10 % below without. It reports, it does not judge.
#
# Environment: BENCH_BUS_N (events for 1-3, default 200000), BENCH_BUS_SUBS (100),
#   BENCH_BUS_EVENTS (events per subscription in 4, default 100), BENCH_BUS_EXEC_SECS
#   (closed-loop seconds per engine run, default 5), BENCH_SECTIONS (comma list of
#   memory,webhook,exec; default all).
set -uo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_BUS_N:-200000}
SUBS=${BENCH_BUS_SUBS:-100}
EVENTS=${BENCH_BUS_EVENTS:-100}
EXEC_SECS=${BENCH_BUS_EXEC_SECS:-5}
SECTIONS=",${BENCH_SECTIONS:-memory,webhook,exec},"
want() { [[ $SECTIONS == *",$1,"* ]]; }
status=0

if want memory; then
  build/bench/bus_bench "$N" | grep -v '^result ' || status=1
  echo ""
fi
if want webhook; then
  echo "== 4. webhook deliveries/s ($SUBS subscriptions, one request in flight each)"
  FM_BIN=build/flowmaster python3 bench/bus_webhook_bench.py "$SUBS" "$EVENTS" | grep -v '^result ' || status=1
  echo ""
fi
if want exec; then
  echo "== 5. Execution Engine over HTTP, durable log off vs on (bench/exec_bench.sh, section http)"
  # off: no log; on: the log as configured by default ([eventbus] log_skip leaves out the
  # engine's per-step execution.element.* events); all: log_skip empty, every event logged
  for mode in off on all; do
    case $mode in
      off) envs=(FLOWMASTER_EVENTBUS_LOG=false) ;;
      on) envs=(FLOWMASTER_EVENTBUS_LOG=true) ;;
      all) envs=(FLOWMASTER_EVENTBUS_LOG=true FLOWMASTER_EVENTBUS_LOG_SKIP=) ;;
    esac
    out=$(env "${envs[@]}" BENCH_SECTIONS=http BENCH_EXEC_SECS=$EXEC_SECS BENCH_EXEC_LAT_SECS=2 \
          bash bench/exec_bench.sh 2>&1) || status=1
    rate=$(grep -E "^exec HTTP, closed loop" <<<"$out" | awk '{ for (i = 1; i <= NF; i++) if ($i == "instances/s") print $(i-1) }')
    cpu=$(grep -oE "server CPU per instance: [0-9.]+ ms" <<<"$out" | awk '{ print $5 }')
    echo "  log $mode: ${rate:-n/a} instances/s, server CPU ${cpu:-n/a} ms per instance"
    [ -z "$rate" ] && grep -E "failed|INVALID" <<<"$out" | sed 's/^/    /'
  done
  echo ""
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPU(s)"
exit $status
