#!/usr/bin/env bash
# Rules engine throughput (issue 4 "Measure"): `make bench-rules` runs this.
#  1. in-process: build/bench/rules_bench evaluates the 20-rule, 3-input FIRST table of
#     bench/rules_table.json and the FEEL expressions of bench/rules_exprs.json;
#  2. the same work with the npm package feelin (installed into a mktemp folder that
#     is removed afterwards; skipped with a note when npm cannot fetch it);
#  3. over HTTP: POST /rules/{id}/evaluate with wrk against 127.0.0.1 only, on a
#     server started with --port-offset, once with [rules] audit off and once on.
# Targets: in-process ≥ 20× feelin; ≥ 20,000 evaluations/s over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECS:-2}
DUR=${BENCH_HTTP_SECS:-5}
BIN=build/flowmaster
tmp=$(mktemp -d)
srv=""
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== in-process (C, parse once, evaluate many)"
build/bench/rules_bench bench/rules_table.json bench/rules_exprs.json "$SECS" | tee "$tmp/c.txt"

echo "== in-process (feelin, npm)"
have_feelin=0
if command -v npm >/dev/null && command -v node >/dev/null &&
   (cd "$tmp" && npm init -y >/dev/null 2>&1 && npm install --silent --no-audit --no-fund feelin >/dev/null 2>&1); then
  cp bench/feelin_bench.mjs "$tmp/"
  v=$(node -e "console.log(require('$tmp/node_modules/feelin/package.json').version)")
  echo "feelin $v"
  (cd "$tmp" && node feelin_bench.mjs "$OLDPWD/bench/rules_table.json" "$OLDPWD/bench/rules_exprs.json" "$SECS") | tee "$tmp/js.txt"
  have_feelin=1
else
  echo "feelin: npm install failed or node missing; no comparison"
fi

if [ $have_feelin = 1 ]; then
  echo "== ratio (C / feelin; target >= 20x)"
  join <(sort "$tmp/c.txt") <(sort "$tmp/js.txt") | awk '{ printf "%-24s %12d /s vs %10d /s  = %6.1fx\n", $1, $2, $3, $2 / $3 }'
fi

echo "== HTTP POST /rules/{id}/evaluate (wrk, 127.0.0.1; target >= 20000/s)"
if ! command -v wrk >/dev/null; then echo "wrk missing (scripts/deps.sh bench installs it)"; exit 0; fi
run_http() {   # $1: audit true|false
  local off port up=0
  for _ in 1 2 3 4 5; do     # a taken port makes the server exit: try another offset
    off=$(( 20000 + RANDOM % 20000 )); port=$((8018 + off))
    FLOWMASTER_RULES_AUDIT=$1 FLOWMASTER_LOG_REQUESTS=false FLOWMASTER_GATEWAY_RATE_PER_IP=0 \
      FLOWMASTER_GATEWAY_RATE_PER_TENANT=0 \
      "$BIN" serve --data-dir "$tmp/data-$1" --port-offset "$off" --modules rules,auth >"$tmp/srv.log" 2>&1 &
    srv=$!
    for _ in $(seq 100); do
      kill -0 "$srv" 2>/dev/null || break
      if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then up=1; break; fi
      sleep 0.1
    done
    [ $up = 1 ] && break
    kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""
  done
  if [ $up != 1 ]; then echo "server did not start:"; tail -3 "$tmp/srv.log"; return 1; fi
  # every evaluation is authenticated: a service-account token minted by the CLI
  token=$("$BIN" token --service bench --data-dir "$tmp/data-$1" --port-offset "$off")
  python3 - "$port" "$tmp" "$token" <<'PY'
import json, sys, urllib.request
port, tmp, token = sys.argv[1], sys.argv[2], sys.argv[3]
t = json.load(open("bench/rules_table.json"))
model = {"inputs": [{"name": n} for n in t["inputs"]],
         "decisions": [{"name": "Tier", "requires": t["inputs"], "table": {
             "hitPolicy": "FIRST", "inputs": t["inputs"], "outputs": ["tier"],
             "rules": [{"when": r[:3], "then": [r[3]]} for r in t["rules"]]}}]}
req = urllib.request.Request("http://127.0.0.1:%s/rules" % port, method="POST",
                             data=json.dumps({"name": "bench", "model": model}).encode(),
                             headers={"Content-Type": "application/json", "X-Tenant-Id": "default",
                                      "Authorization": "Bearer " + token})
rid = json.load(urllib.request.urlopen(req))["id"]
open(tmp + "/path", "w").write("/rules/%s/evaluate" % rid)
PY
  cat > "$tmp/eval.lua" <<LUA
-- 64 different inputs, formatted once (building requests per call costs wrk's CPU,
-- which shares this machine with the server)
local reqs = {}
local cats = {"A", "B", "C", "D"}
for i = 1, 64 do
  local body = string.format('{"decision":"Tier","inputs":{"age":%d,"category":"%s","score":%d}}',
                             18 + (i * 7) % 60, cats[i % 4 + 1], 300 + (i * 37) % 500)
  reqs[i] = wrk.format("POST", "$(cat "$tmp/path")", {["Content-Type"] = "application/json",
                       ["X-Tenant-Id"] = "default", ["Authorization"] = "Bearer $token"}, body)
end
local n = 0
request = function()
  n = n + 1
  return reqs[n % 64 + 1]
end
LUA
  wrk -t2 -c32 -d"${DUR}s" -s "$tmp/eval.lua" "http://127.0.0.1:$port" > "$tmp/wrk.txt"
  local rps non2xx
  rps=$(awk '/Requests\/sec/ { print int($2) }' "$tmp/wrk.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$tmp/wrk.txt")
  echo "audit=$1: $rps evaluations/s over HTTP${non2xx:+ ($non2xx non-2xx answers!)}"
  grep -E "Latency|requests in" "$tmp/wrk.txt" | sed 's/^/    /'
  kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""
}
run_http false
run_http true
