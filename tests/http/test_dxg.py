"""DXG Service on 9011 (docs/dxg.md): the case of a human task gathered from the task,
its instance and history, related documents with their extracted entities and similar
completed tasks; the smart form prefilled from variables, a document's key-value pairs
and entities, and past answers, each with its source and confidence; the briefing from a
template and written by a local-provider agent; tenants; bad input."""

import json

from exec_support import bpmn, chain, deploy, start, wait_task
from harness import assert_json, assert_problem, unique_name

P = 9011
T = 9006

INVOICE = """ACME Supplies Ltd
Invoice No: INV-2026-0042
Date: 15.03.2026
Bill to: ada@example.com
Total: 1,234.50 EUR
Please pay to IBAN DE89 3704 0044 0532 0130 00, BIC: COBADEFFXXX.
"""

FORM = {"type": "object", "required": ["approved", "customerName", "reviewNote"],
        "properties": {"customerName": {"type": "string"},
                       "invoiceNo": {"type": "string", "title": "Invoice No"},
                       "payeeIban": {"type": "string"},
                       "amount": {"type": "number"},
                       "contactEmail": {"type": "string"},
                       "costCentre": {"type": "string"},
                       "approved": {"type": "boolean"},
                       "reviewNote": {"type": "string"}}}


def upload(s, text, headers=None):
    h = {"Content-Type": "text/plain"}
    h.update(headers or {})
    r = s.req("POST", 9002, "/documents/upload?name=invoice.txt", body=text.encode(), headers=h)
    return assert_json(r, 201)


def task(s, name, headers=None, **kw):
    body = {"name": name, "form": FORM}
    body.update(kw)
    return assert_json(s.req("POST", T, "/tasks", body=body, headers=headers), 201)


def complete(s, t, response):
    assert_json(s.req("PUT", T, "/tasks/%s/claim" % t["id"]))
    assert_json(s.req("PUT", T, "/tasks/%s/respond" % t["id"], body={"response": response}))


def case(s, name, headers=None):
    """A document, three answered tasks of the same name and the open one."""
    doc = upload(s, INVOICE, headers)
    for cc in ("CC-7", "CC-7", "CC-9"):
        complete(s, task(s, name, headers), {"approved": True, "customerName": "x", "costCentre": cc,
                                              "reviewNote": unique_name("note")})
    return doc, task(s, name, headers, variables={"customerName": "Ada Lovelace", "invoiceDoc": doc["id"]},
                     dueDate="2030-01-01T00:00:00Z")


def test_smart_form_prefills_with_sources(srv):
    name = unique_name("Check invoice")
    doc, t = case(srv, name)
    f = assert_json(srv.req("POST", P, "/api/v1/smart-form/" + t["id"], body={}))
    by = {x["key"]: x for x in f["fields"]}
    assert by["customerName"]["value"] == "Ada Lovelace" and by["customerName"]["source"] == "variable"
    assert by["customerName"]["confidence"] == 1
    assert by["invoiceNo"]["value"] == "INV-2026-0042" and by["invoiceNo"]["source"] == "document", by["invoiceNo"]
    assert doc["id"] in by["invoiceNo"]["detail"], by["invoiceNo"]
    assert by["payeeIban"]["value"] == "DE89370400440532013000", by["payeeIban"]
    assert by["amount"]["value"] == 1234.5 and by["contactEmail"]["value"] == "ada@example.com", by
    cc = by["costCentre"]
    assert cc["value"] == "CC-7" and cc["source"] == "history" and cc["confidence"] == 0.67, cc
    assert by["approved"]["value"] is True and by["approved"]["confidence"] == 1, by["approved"]
    # answers that differ every time are not a prefill: the person starts there
    assert "value" not in by["reviewNote"] and by["reviewNote"]["required"], by["reviewNote"]
    h = f["hints"]
    assert h["focus"] == "reviewNote" and "costCentre" in h["review"] and h["prefilled"] == 7 and h["total"] == 8, h
    assert f["form"] == FORM and f["unavailable"] == [], f


def test_analyze_a_process_task(srv):
    pid = unique_name("dxg_p").replace("-", "_")
    deploy(srv, bpmn(pid, '<bpmn:startEvent id="s"/><bpmn:userTask id="review" name="Review claim"/>'
                          '<bpmn:endEvent id="e"/>' + chain("s", "review", "e")))
    doc = upload(srv, INVOICE)
    inst = start(srv, pid, {"claimant": "Grace", "amount": 250, "docs": [doc["id"]]})
    tid = wait_task(srv, inst["id"], "review")
    a = assert_json(srv.req("POST", P, "/api/v1/analyze/" + tid, body={}))
    assert a["task"]["id"] == tid and a["task"]["waitingSeconds"] >= 0, a["task"]
    assert a["process"]["id"] == inst["id"] and a["process"]["state"] == "active", a["process"]
    assert a["variables"]["claimant"] == "Grace" and a["variables"]["amount"] == 250, a["variables"]
    assert any(h["elementId"] == "review" for h in a["history"]), a["history"]
    assert [d["id"] for d in a["documents"]] == [doc["id"]], a["documents"]
    assert a["documents"][0]["documentType"] == "invoice", a["documents"][0]
    assert any(e["type"] == "iban" for e in a["documents"][0]["entities"]), a["documents"][0]
    b = assert_json(srv.req("POST", P, "/api/v1/briefing/" + tid, body={}))
    text = b["briefing"]
    assert b["source"] == "template" and '"Review claim"' in text and pid in text and inst["id"] in text, text
    assert "waiting for" in text and "claimant = \"Grace\"" in text and "1 related document" in text, text


def test_briefing_written_by_an_agent(srv):
    name = unique_name("Approve refund")
    _, t = case(srv, name)
    agent = unique_name("briefer").lower()
    r = srv.req("PUT", 9007, "/agents/%s/config" % agent, body={
        "provider": "local", "local": {"rules": [{"when": "briefing", "reply": "Brief: {{input}}"}]}})
    assert r.status in (200, 201), r
    b = assert_json(srv.req("POST", P, "/api/v1/briefing/" + t["id"], body={"agentId": agent}))
    assert b["written"]["agentId"] == agent and b["written"]["provider"] == "local", b
    assert b["written"]["text"].startswith("Brief: Write a short case briefing") and name in b["written"]["text"], b
    assert name in b["briefing"] and "due 2030-01-01" in b["briefing"], b
    assert "3 similar tasks were answered before" in b["briefing"], b
    pr = assert_problem(srv.req("POST", P, "/api/v1/briefing/" + t["id"], body={"agentId": "nobody-here"}), 422)
    assert "nobody-here" in pr["detail"] and pr["errors"][0]["pointer"] == "/agentId", pr


def test_tenants_and_bad_input(srv):
    _, t = case(srv, unique_name("Secret"))
    other = srv.tenant_headers("dxg-other")
    for route in ("analyze", "smart-form", "briefing"):
        assert_problem(srv.req("POST", P, "/api/v1/%s/%s" % (route, t["id"]), body={}, headers=other), 404)
    # another tenant's document named in this tenant's variables is not part of the case
    odoc = upload(srv, INVOICE, headers=other)
    mine = task(srv, unique_name("Mixed"), variables={"doc": odoc["id"]})
    a = assert_json(srv.req("POST", P, "/api/v1/analyze/" + mine["id"], body={}))
    assert a["documents"] == [], a["documents"]
    assert_problem(srv.req("POST", P, "/api/v1/analyze/task_nope", body={}), 404)
    assert_problem(srv.req("POST", P, "/api/v1/analyze/BAD%20ID", body={}), 422)
    assert_problem(srv.req("POST", P, "/api/v1/briefing/" + t["id"], body={"agentId": "../x"}), 422)
    assert_problem(srv.req("POST", P, "/api/v1/briefing/" + t["id"], body={"colour": "red"}), 422)
    json.dumps(a)
