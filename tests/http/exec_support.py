"""Helpers shared by the test_execution_*.py files (not a test file itself): BPMN XML
building, deploy (create + publish on 9003), start/read instances on 9005, history
checks, task answers on 9006. The contract is docs/execution.md."""

import json
import threading
import time

from harness import assert_json, wait_until

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
XML = {"Content-Type": "application/xml"}

ENDED = ("completed", "cancelled", "failed")


def bpmn(pid, body, name=None, defs_extra="", proc_ext=""):
    """A definitions document with one executable process `pid` holding `body` (flow
    elements written with the bpmn: prefix). defs_extra goes after the process
    (messages, errors); proc_ext is the process's extensionElements content."""
    ext = ("<bpmn:extensionElements>%s</bpmn:extensionElements>" % proc_ext) if proc_ext else ""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="%s" xmlns:zeebe="%s"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Defs_%s" targetNamespace="http://example.com/flowmaster-tests">
  <bpmn:process id="%s" name="%s" isExecutable="true">%s
%s
  </bpmn:process>%s
</bpmn:definitions>""" % (BPMN_NS, ZEEBE_NS, pid, pid, name or pid, ext, body, defs_extra)).encode()


def flows(*pairs):
    """flows(("f1", "a", "b"), ...) or ("f1", "a", "b", "=cond")."""
    out = []
    for p in pairs:
        if len(p) == 4:
            out.append('<bpmn:sequenceFlow id="%s" sourceRef="%s" targetRef="%s">'
                       '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">%s'
                       '</bpmn:conditionExpression></bpmn:sequenceFlow>' % p)
        else:
            out.append('<bpmn:sequenceFlow id="%s" sourceRef="%s" targetRef="%s"/>' % p)
    return "\n".join(out)


def chain(*ids):
    """Sequence flows f_<a>_<b> linking ids one after the other."""
    return flows(*[("f_%s_%s" % (a, b), a, b) for a, b in zip(ids, ids[1:])])


def deploy(srv, xml, headers=None, name=None):
    """POST /processes (XML) + publish; returns the process (id, bpmnProcessId, version)."""
    h = dict(XML)
    h.update(headers or {})
    q = "?name=%s" % name if name else ""
    r = srv.req("POST", 9003, "/processes" + q, body=xml, headers=h)
    p = assert_json(r, 201)
    r = srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={},
                headers=headers)
    assert r.status == 201, "publish %s: %r" % (p["id"], r)
    v = r.json or {}
    p["version"] = v.get("version", 1)
    return p


def start(srv, process_id, variables=None, headers=None, status=201, **extra):
    body = {"processId": process_id}
    if variables is not None:
        body["variables"] = variables
    body.update(extra)
    r = srv.req("POST", 9005, "/executions", body=body, headers=headers)
    if status is None:
        return r
    inst = assert_json(r, status)
    assert inst["id"].startswith("exe_"), inst
    return inst


def get(srv, eid, headers=None):
    return assert_json(srv.get(9005, "/executions/" + eid, headers=headers))


def history(srv, eid, headers=None):
    """Every history entry (all pages), oldest first."""
    items, cursor = [], None
    for _ in range(200):
        path = "/executions/%s/history?limit=500" % eid
        if cursor:
            path += "&cursor=" + cursor
        j = assert_json(srv.get(9005, path, headers=headers))
        items.extend(j["items"])
        cursor = j.get("nextCursor")
        if not cursor:
            break
    seqs = [h["seq"] for h in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), \
        "history of %s not strictly ordered by seq: %r" % (eid, seqs)
    return items


def count(hist, type_, element=None):
    return sum(1 for h in hist if h["type"] == type_
               and (element is None or h.get("elementId") == element))


def entered_path(hist):
    """elementIds of element.entered, in order (flow nodes only)."""
    return [h["elementId"] for h in hist if h["type"] == "element.entered"
            and h.get("elementType") not in ("process", "sequenceFlow")]


def assert_ran_once(srv, eid, elements, headers=None, hist=None):
    """The instance completed exactly once and each of `elements` was entered and left
    exactly once."""
    hist = hist if hist is not None else history(srv, eid, headers)
    assert count(hist, "instance.started") == 1, (eid, hist)
    assert count(hist, "instance.completed") == 1, \
        "%s: %d instance.completed: %r" % (eid, count(hist, "instance.completed"), hist)
    assert hist[-1]["type"] == "instance.completed", \
        "%s: something happened after instance.completed: %r" % (eid, hist[-3:])
    for el in elements:
        n_in, n_out = count(hist, "element.entered", el), count(hist, "element.left", el)
        assert (n_in, n_out) == (1, 1), \
            "%s: %s entered %d / left %d times (want 1/1): %r" % (eid, el, n_in, n_out,
                                                                  entered_path(hist))
    return hist


def waiting(inst, element=None, kind=None):
    """activeElements entries of inst (optionally: at element / waitingFor kind)."""
    return [a for a in inst.get("activeElements", [])
            if (element is None or a["elementId"] == element)
            and (kind is None or a.get("waitingFor") == kind)]


def wait_for(srv, eid, pred, timeout=10.0, headers=None, what=None):
    """Poll GET /executions/{id} until pred(instance); returns the instance."""
    box = {}

    def check():
        box["i"] = get(srv, eid, headers)
        return pred(box["i"])
    try:
        wait_until(check, timeout=timeout, interval=0.05, what=what or "instance %s" % eid)
    except AssertionError as e:
        raise AssertionError("%s; last: %s" % (e, json.dumps(box.get("i"))[:600]))
    return box["i"]


def wait_task(srv, eid, element, timeout=10.0, headers=None):
    """Wait until eid waits at userTask `element`; returns its taskId."""
    inst = wait_for(srv, eid, lambda i: any(a.get("taskId") for a in waiting(i, element, "task")),
                    timeout, headers, "%s waiting at task %s" % (eid, element))
    return waiting(inst, element, "task")[0]["taskId"]


def wait_state(srv, eid, state, timeout=10.0, headers=None):
    return wait_for(srv, eid, lambda i: i["state"] == state, timeout, headers,
                    "%s in state %s" % (eid, state))


def respond(srv, task_id, response, headers=None):
    return srv.req("PUT", 9006, "/tasks/%s/respond" % task_id, body={"response": response},
                   headers=headers)


def jobs(srv, headers=None, **filters):
    """GET /jobs with filters, all pages."""
    q = "&".join("%s=%s" % kv for kv in filters.items())
    items, cursor = [], None
    for _ in range(100):
        path = "/jobs?limit=500" + ("&" + q if q else "") + ("&cursor=" + cursor if cursor else "")
        j = assert_json(srv.get(9005, path, headers=headers))
        items.extend(j["items"])
        cursor = j.get("nextCursor")
        if not cursor:
            break
    return items


def all_tasks(srv, headers=None, status=None):
    """Every task of the caller's tenant in 9006 (all pages)."""
    items, cursor = [], None
    for _ in range(200):
        path = "/tasks?limit=200" + ("&status=" + status if status else "") + \
            ("&cursor=" + cursor if cursor else "")
        j = assert_json(srv.get(9006, path, headers=headers))
        items.extend(j["items"])
        cursor = j.get("nextCursor")
        if not cursor:
            break
    return items


def parallel(fns, timeout=30.0):
    """Run the callables at once (released together by a barrier); returns their results
    in order (an exception is returned in place of a result)."""
    results = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def run(i, fn):
        try:
            barrier.wait(timeout)
            results[i] = fn()
        except Exception as e:  # noqa: BLE001 - reported to the caller
            results[i] = e
    threads = [threading.Thread(target=run, args=(i, fn), daemon=True)
               for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "parallel requests still running after %.0fs" % timeout
    return results


def stable(srv, eid, headers=None):
    """What a no-op must not change: the instance and its history (length + last seq)."""
    i = get(srv, eid, headers)
    h = history(srv, eid, headers)
    return i, len(h), (h[-1]["seq"] if h else None)


NOT_CORRELATED = "urn:flowmaster:problem:message-not-correlated"


def assert_not_correlated(r):
    """404 problem+json of type message-not-correlated (its own title)."""
    from harness import assert_problem
    title = (r.json or {}).get("title") if isinstance(r.json, dict) else None
    p = assert_problem(r, 404, title=title or "(missing title)")
    assert p["type"] == NOT_CORRELATED, "problem type %r, want %s" % (p["type"], NOT_CORRELATED)
    return p


def pointers(p):
    return [e.get("pointer") for e in p.get("errors", []) if isinstance(e, dict)]
