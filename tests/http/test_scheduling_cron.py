"""Cron fire times checked against npm cron-parser (issue 15): tests/node/cron/next_times.mjs
runs cron-parser 5.4.0 (pinned in tests/node/cron/package-lock.json, installed by
`npm ci` on first use into the gitignored node_modules) on the same expressions, zones
and start times, and every next fire time GET /schedules/{id}/next?after=…&count=…
answers must be the same instant. The cases cover DST changes in Europe/Berlin and
America/New_York (gap and overlap, hours inside both), Feb 29, L, nL, #, seconds, names,
ranges, steps, lists and the @ macros. Node is a test tool only."""

import json
import os
import random
import shutil
import subprocess

from harness import REPO, Server, parse_time

NODE_DIR = os.path.join(REPO, "tests", "node", "cron")
FIXTURES = {"srv": lambda: Server(modules="auth,scheduling", env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                                                                  "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"})}

FIXED = [
    "* * * * *", "*/5 * * * *", "0 * * * *", "30 2 * * *", "0 2 * * *", "15 1 * * *", "45 3 * * *",
    "0 1-3 * * *", "*/20 1-3 * * *", "0 0,1,2,3 * * *", "59 1 * * *", "0 3 * * *", "30 1,2 * * *",
    "0 0 29 2 *", "0 12 29 2 *", "0 0 28-29 2 *", "0 0 L * *", "0 0 L 2 *", "0 6 L * *",
    "0 0 * * 5L", "0 9 * * 1L", "0 9 * * 0L", "0 0 * * 7L", "0 8 * * 1#1", "0 8 * * 5#2",
    "0 8 * * 0#5", "0 2 * * 0#5", "0 8 * * mon#3", "*/15 * * * * *", "0 * * * * *",
    "30 30 2 * * *", "*/10 0-5 2 * * *", "5,10,15 * * * * *", "0 0 0 * * *", "@yearly",
    "@annually", "@monthly", "@weekly", "@daily", "@hourly", "0 0 1 jan *", "0 0 1 JAN-MAR *",
    "0 9 * * MON-FRI", "0 9 * * sat,sun", "0 0 13 * 5", "0 0 1,15 * 1", "0 0 * * 1-7",
    "0 0 * * 0-6/2", "0 12 */2 * *", "0 12 1-10/3 * *", "0 22 * * 1-5", "5/15 * * * *",
    "0 */3 * * *", "0 2/3 * * *", "0 0 31 * *", "0 0 30 * *", "0 0 1 */3 *", "0 2 * 3 0",
    "0 2 * 10 0", "30 2 * 3,10 *", "0 1 25-31 3 0", "0 2 1-7 11 0", "0 1 * 11 0",
    "? * * * *", "0 0 ? * 1", "0 0 1 ? *", "15 14 1 * *", "0 22 * * 1-5", "23 0-20/2 * * *",
    "0 4 8-14 * *", "0 0,12 1 */2 *", "0 0 * * 4#4", "0 0 L 2,4 *", "0 0 L * 1",
    "0 0 29 2 1", "0 30 1 * * 0", "0 0 2 L * *", "*/30 * 2 * * *", "0 0 0 29 2 *",
    "0 59 23 31 12 *", "1 1 1 1 1 *", "0 0 0 1 1 1", "0 0 12 * * 3#2", "0 0 3 * * 6L",
]


def generated(n, seed=15):
    """Deterministic random expressions: lists, ranges and steps in every field."""
    rnd = random.Random(seed)

    def field(lo, hi, allow_star=True):
        k = rnd.randrange(6)
        if k == 0 and allow_star:
            return "*"
        if k == 1:
            return "*/%d" % rnd.randint(2, max(2, (hi - lo) // 2))
        if k == 2:
            a = rnd.randint(lo, hi)
            b = rnd.randint(a, hi)
            return "%d-%d" % (a, b)
        if k == 3:
            vals = sorted(rnd.sample(range(lo, hi + 1), rnd.randint(2, 3)))
            return ",".join(map(str, vals))
        if k == 4:
            a = rnd.randint(lo, hi)
            return "%d-%d/%d" % (a, hi, rnd.randint(1, 4))
        return str(rnd.randint(lo, hi))

    out = []
    while len(out) < n:
        parts = [field(0, 59), field(0, 23), rnd.choice(["*", "*", field(1, 28)]),
                 rnd.choice(["*", "*", field(1, 12)]), rnd.choice(["*", "*", field(0, 6)])]
        if rnd.random() < 0.3:
            parts.insert(0, field(0, 59))
        out.append(" ".join(parts))
    return out


STARTS = [
    "2026-01-15T10:17:23Z", "2026-03-29T00:10:00Z", "2026-03-28T23:59:59Z", "2026-10-25T00:30:00Z",
    "2026-10-24T23:00:00Z", "2026-03-08T06:30:00Z", "2026-11-01T05:10:00Z", "2026-11-01T04:00:00Z",
    "2028-02-27T12:00:00Z", "2026-06-30T23:59:59.500Z",
]
ZONES = ["Europe/Berlin", "America/New_York"]


def npm_ci():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for this test (scripts/deps.sh test installs them)"
    with open(os.path.join(NODE_DIR, "package-lock.json")) as f:
        want = json.load(f)["packages"]["node_modules/cron-parser"]["version"]
    have = None
    try:
        with open(os.path.join(NODE_DIR, "node_modules", "cron-parser", "package.json")) as f:
            have = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    if have != want:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=NODE_DIR, capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, "npm ci failed: %s" % (r.stderr or r.stdout)[-800:]
    return node


def count_for(expr, count):
    """Once-in-years expressions take one fire time: cron-parser walks to them day by day."""
    rare = (" 29 2 ", " 28-29 2 ", " L 2", " 31 12 ")
    return 1 if any(r in " %s " % expr for r in rare) else count


def compare(srv, exprs, per_expr, count, min_cases):
    """Each expression from per_expr of the start times (rotating), in both zones."""
    node = npm_ci()
    cases = [(e, z, STARTS[(i + k * 3) % len(STARTS)]) for i, e in enumerate(exprs) for z in ZONES
             for k in range(per_expr)]
    r = subprocess.run([node, os.path.join(NODE_DIR, "next_times.mjs")], cwd=NODE_DIR, capture_output=True,
                       text=True, timeout=55,
                       input=json.dumps([{"expr": e, "tz": z, "from": s, "count": count_for(e, count)}
                                        for e, z, s in cases]))
    assert r.returncode == 0, r.stderr[-800:]
    want = json.loads(r.stdout)
    ids, compared, mismatches = {}, 0, []
    for (e, z, s), w in zip(cases, want):
        assert "error" not in w, "cron-parser refused %r: %s" % (e, w["error"])
        if (e, z) not in ids:
            c = srv.req("POST", 9008, "/schedules", {"name": "cmp", "cron": e, "timezone": z, "enabled": False,
                                                     "action": {"kind": "event", "type": "cron.check"}})
            assert c.status == 201, (e, c)
            ids[(e, z)] = c.json["id"]
        n = srv.req("GET", 9008, "/schedules/%s/next?count=%d&after=%s" % (ids[(e, z)], count_for(e, count), s))
        assert n.status == 200, n
        got = [int(parse_time(i["utc"]).timestamp() * 1000) for i in n.json["items"]]
        compared += 1
        if got != w["times"]:
            mismatches.append((e, z, s, [i["utc"] for i in n.json["items"]], w["times"]))
    assert compared >= min_cases, compared
    assert not mismatches, "%d of %d differ from cron-parser, first: %r" % (len(mismatches), compared,
                                                                              mismatches[:3])


# Split in six small parts so that each stays well inside the per-test time limit on a
# busy machine (cron-parser needs ~10 ms of CPU per fire time). Each case compares two
# consecutive fire times (cron-parser's DST notes carry from one to the next).
def test_fixed_expressions_part1(srv):
    """DST hours, Feb 29, L, nL, #: fixed expressions 1-28 x 2 zones x 2 starts."""
    compare(srv, FIXED[:28], 2, 2, 112)


def test_fixed_expressions_part2(srv):
    """Seconds, names, macros: fixed expressions 29-56."""
    compare(srv, FIXED[28:56], 2, 2, 112)


def test_fixed_expressions_part3(srv):
    """Lists, steps, DST months, L with weekdays: fixed expressions 57-84."""
    compare(srv, FIXED[56:], 2, 2, 112)


def test_generated_expressions_part1(srv):
    """Random lists/ranges/steps (some with seconds), 44 of them x 2 zones x 2 starts."""
    compare(srv, generated(132)[:44], 2, 2, 176)


def test_generated_expressions_part2(srv):
    compare(srv, generated(132)[44:88], 2, 2, 176)


def test_generated_expressions_part3(srv):
    compare(srv, generated(132)[88:], 2, 2, 176)
