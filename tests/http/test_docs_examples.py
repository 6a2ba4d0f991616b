"""Every example in docs/*.md is either run or visibly labelled (issue 12 item 1).

Examples are the request and shell blocks (```json, ```jsonc, ```http, ```sh, unmarked
```); source code illustrations (```c, ```sql) are not checked. A block is labelled when the paragraph right before it or right after it says
"field reference"; otherwise that paragraph must say it is run by this file ("Run by
`tests/http/test_docs_examples.py`"), and it is run here against a fresh server:
a ```json block in bpmn.md is a JSON-form process (stored without a warning, then
published), a ```json block in rules.md is a JSON rule model (created and evaluated),
an ```http block is `METHOD /path`, a JSON body and an optional `→ answer` whose fields
must come back. Every ```json block, labelled or not, must be valid JSON (one document,
or one per line); commented examples are ```jsonc. docs/tutorial.md is all ```sh blocks,
run by test_tutorial.py."""

import glob
import json
import os
import re

from harness import REPO, assert_json

DOCS = sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
FENCE = re.compile(r"^```(\S*)(.*)$")
# request and shell examples (and unmarked blocks); source code illustrations (```c,
# ```sql) are not requests a reader sends and are left to review
EXAMPLE_LANGS = ("", "json", "jsonc", "http", "sh", "bash", "shell", "console", "text")
RUN_LABEL = "run by `tests/http/test_docs_examples.py`"
PORT_OF = (("/rules", 8018), ("/processes", 9003), ("/executions", 9005), ("/messages", 9005),
           ("/tasks", 9006), ("/auth", 8002), ("/services", 8001))


def blocks(path):
    """[(line, lang, code, paragraph before, paragraph after)] of every fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        before, k = [], i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        while k >= 0 and lines[k].strip() and not lines[k].startswith("```"):
            before.insert(0, lines[k])
            k -= 1
        after, k = [], j + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        while k < len(lines) and lines[k].strip() and not lines[k].startswith("```"):
            after.append(lines[k])
            k += 1
        if "reference" in m.group(2):      # ```c reference: labelled in the info string
            after.append("field reference")
        out.append((i + 1, m.group(1), "\n".join(lines[i + 1:j]), " ".join(before), " ".join(after)))
        i = j + 1
    return out


def _label(b):
    text = (b[3] + " " + b[4]).lower()
    if "field reference" in text:
        return "reference"
    if RUN_LABEL.lower() in text:
        return "run"
    return None


def test_every_docs_example_is_run_or_labelled():
    unlabelled, bad_json, n = [], [], 0
    for path in DOCS:
        name = os.path.basename(path)
        for b in blocks(path):
            n += 1
            where = "%s:%d" % (name, b[0])
            if name == "tutorial.md":
                assert b[1] == "sh", "%s: the tutorial's blocks are ```sh (test_tutorial.py runs them)" % where
                continue
            if _label(b) is None and b[1] in EXAMPLE_LANGS:
                unlabelled.append(where)
            if b[1] == "json":
                try:
                    json.loads(b[2])
                except ValueError:
                    try:
                        for line in b[2].split("\n"):
                            if line.strip():
                                json.loads(line)
                    except ValueError as e:
                        bad_json.append("%s: %s" % (where, e))
    assert n >= 20, "found only %d blocks in docs/*.md" % n
    assert not unlabelled, ("these examples are neither run by a test nor labelled 'field reference' "
                            "in the paragraph before or after them: %s" % ", ".join(unlabelled))
    assert not bad_json, "```json blocks that are not JSON (use ```jsonc for commented ones): %s" % bad_json


def _run_http(srv, where, code):
    lines = [l for l in code.split("\n") if l.strip()]
    method, path = lines[0].split()
    port = next(p for prefix, p in PORT_OF if path.startswith(prefix))
    body = json.loads(lines[1]) if len(lines) > 1 and not lines[1].startswith("→") else None
    expect = [l for l in lines if l.startswith("→")]
    r = srv.req(method, port, path, body=body)
    assert 200 <= r.status < 300, "%s: %r" % (where, r)
    got = assert_json(r, r.status)
    if expect:
        want = json.loads(expect[0][1:].strip())
        for k, v in want.items():
            assert got.get(k) == v, "%s: %s is %r, the doc says %r" % (where, k, got.get(k), v)
    return 1


def _run_bpmn_json(srv, where, code):
    model = json.loads(code)
    r = srv.req("POST", 9003, "/processes", body={"name": "docs example " + where, "model": model})
    p = assert_json(r, 201)
    assert p["warnings"] == [] and p["publishable"] is True, "%s: %r" % (where, p["warnings"])
    pub = assert_json(srv.req("POST", 9003, "/processes/%s/publish" % p["id"]), 201)
    assert pub.get("warnings", []) == [], "%s: %r" % (where, pub)
    # JSON -> XML -> JSON gives the same processes back
    back = assert_json(srv.get(9003, "/processes/" + p["id"]))["model"]
    assert [e["id"] for e in back["processes"][0]["elements"]] == \
        [e["id"] for e in model["processes"][0]["elements"]], back
    return 1


def _run_rules_json(srv, where, code):
    model = json.loads(code)
    r = srv.req("POST", 8018, "/rules", body={"name": model.get("name", where), "model": model})
    rs = assert_json(r, 201)
    inputs = {i["name"]: 2000 if i.get("type") == "number" else "2024-01-31" for i in model.get("inputs", [])}
    ev = assert_json(srv.req("POST", 8018, "/rules/%s/evaluate" % rs["id"], body={"inputs": inputs}))
    assert ev["failed"] is False and not ev["warnings"], "%s: %r" % (where, ev)
    assert all(ev["outputs"].get(d["name"]) is not None for d in model["decisions"]), ev
    return 1


def test_docs_examples_that_run(srv):
    ran = []
    for path in DOCS:
        name = os.path.basename(path)
        if name == "tutorial.md":
            continue
        for b in blocks(path):
            if _label(b) != "run":
                continue
            where = "%s:%d" % (name, b[0])
            if b[1] == "http":
                _run_http(srv, where, b[2])
            elif b[1] == "json" and name == "bpmn.md":
                _run_bpmn_json(srv, where, b[2])
            elif b[1] == "json" and name == "rules.md":
                _run_rules_json(srv, where, b[2])
            else:
                raise AssertionError("%s says it is run here, but there is no runner for a ```%s block "
                                     "in %s" % (where, b[1], name))
            ran.append(where)
    # the JSON-form tour, the JSON rule model and the FEEL expression at least
    assert len(ran) >= 3, ran
