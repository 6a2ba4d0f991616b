#!/usr/bin/env python3
"""Web app first-load benchmark (issue 18): starts `flowmaster serve` with the test harness
(temp data dir, free port offset, 127.0.0.1), publishes a generated process of about 500
elements (a chain of tasks, with DI), and runs bench/web_load.mjs in Debian's Chromium:
time until the admin console, Engage and the Designer (processes, decisions, forms) are usable with the cache off, bytes moved, and the
designer opening the large model. Prints numbers; judges nothing.
Usage: FM_BIN=build/flowmaster python3 bench/web_bench.py [runs]   (needs chromium and
tests/browser/node_modules: run the browser tests once, or `npm ci` in tests/browser)."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "http"))
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, Server, assert_json  # noqa: E402


def chain_process(tasks):
    """start → tasks × task → end, laid out in rows of 20; 2·tasks+3 elements with flows."""
    nodes = ["Start"] + ["T%d" % i for i in range(tasks)] + ["End"]
    pos = {n: (100 + (i % 20) * 150, 100 + (i // 20) * 150) for i, n in enumerate(nodes)}
    sem, di = [], []
    for i, n in enumerate(nodes):
        tag = "startEvent" if n == "Start" else "endEvent" if n == "End" else "task"
        inc = '<bpmn:incoming>F%d</bpmn:incoming>' % (i - 1) if i else ""
        out = '<bpmn:outgoing>F%d</bpmn:outgoing>' % i if i < len(nodes) - 1 else ""
        sem.append('<bpmn:%s id="%s" name="%s">%s%s</bpmn:%s>' % (tag, n, n, inc, out, tag))
        w, h = (36, 36) if tag != "task" else (100, 80)
        x, y = pos[n]
        di.append('<bpmndi:BPMNShape id="%s_di" bpmnElement="%s"><dc:Bounds x="%d" y="%d" width="%d" height="%d"/>'
                  '</bpmndi:BPMNShape>' % (n, n, x, y, w, h))
    for i in range(len(nodes) - 1):
        a, b = nodes[i], nodes[i + 1]
        sem.append('<bpmn:sequenceFlow id="F%d" sourceRef="%s" targetRef="%s"/>' % (i, a, b))
        (ax, ay), (bx, by) = pos[a], pos[b]
        di.append('<bpmndi:BPMNEdge id="F%d_di" bpmnElement="F%d"><di:waypoint x="%d" y="%d"/>'
                  '<di:waypoint x="%d" y="%d"/></bpmndi:BPMNEdge>' % (i, i, ax + 36, ay + 18, bx, by + 18))
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
 xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
 xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs_big" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="Process_big" isExecutable="true">%s</bpmn:process>
<bpmndi:BPMNDiagram id="D1"><bpmndi:BPMNPlane id="P1" bpmnElement="Process_big">%s</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""" % ("".join(sem), "".join(di))).encode(), 2 * len(nodes) - 1


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    srv = Server()
    try:
        xml, elements = chain_process(249)
        p = assert_json(srv.req("POST", 9003, "/processes?name=Big", body=xml,
                                headers={"Content-Type": "application/xml"}), 201)
        cfg = {"engage": "http://127.0.0.1:%d/" % srv.port(3001), "admin": "http://127.0.0.1:%d/" % srv.port(3000),
               "designer": "http://127.0.0.1:%d/" % srv.port(3002),
               "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "tenant": "default",
               "bigProcess": p["id"], "bigElements": elements, "runs": runs}
        print("web first load, Chromium headless on 127.0.0.1, cache off, no compression; %d-element model" % elements)
        r = subprocess.run(["node", os.path.join(REPO, "bench", "web_load.mjs"), json.dumps(cfg)], timeout=600)
        return r.returncode
    finally:
        srv.close()


if __name__ == "__main__":
    sys.exit(main())
