"""BAC Marketplace on 9016 /marketplace (docs/marketplace.md): publish (every model must
import; signed with the publisher's Ed25519 key) → search (FTS5, tags, sorts) → install
into another tenant (processes, decisions and forms made through Process Design and
Rules, published, and a process that runs there), conflicts reported / renamed /
skipped, upgrades to a newer version, a tampered package refused, ratings, bad input;
prompts in packages: checked at publish as 8012 checks them, installed through 8012 and
rendered there, conflicts, upgrades, a tampered prompt refused."""

import json
import os
import sqlite3

from exec_support import bpmn, chain, start, wait_state
from harness import assert_json, assert_problem, unique_name
from test_rules import dmn

P = 9016


def process_xml(pid, script="=1"):
    body = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="calc"><bpmn:extensionElements>'
            '<zeebe:script expression="%s" resultVariable="x"/></bpmn:extensionElements></bpmn:scriptTask>'
            '<bpmn:endEvent id="e"/>' % script + chain("s", "calc", "e"))
    return bpmn(pid, body).decode()


def form(fid):
    return {"schema": {"id": fid, "type": "default",
                       "components": [{"type": "textfield", "key": "comment", "label": "Comment"}]}}


def package(name, version="1.0.0", **kw):
    p = {"name": name, "version": version, "license": "MIT",
         "description": "Invoice approval with a four-eyes check", "tags": ["finance", "approval"],
         "processes": [{"name": "Invoice approval " + name, "bpmn": process_xml("inv_" + name.replace("-", "_"))}],
         "decisions": [{"name": "Approval rules " + name, "dmn": dmn("defs-" + name)}],
         "forms": [form("form-" + name)],
         "changelog": "first version"}
    p.update(kw)
    return p


def publish(s, pkg, headers=None, status=201):
    r = s.req("POST", P, "/marketplace/publish", body=pkg, headers=headers)
    return assert_json(r, status)


def test_publish_search_install_across_tenants(srv):
    name = unique_name("inv").lower()
    pub = publish(srv, package(name))
    assert pub["id"].startswith("pkg_") and pub["latestVersion"] == "1.0.0" and len(pub["publicKey"]) == 64, pub
    assert pub["versions"][0]["version"] == "1.0.0" and pub["tags"] == ["finance", "approval"], pub
    found = assert_json(srv.get(P, "/marketplace/search?q=invoice%20four"))
    assert pub["id"] in [i["id"] for i in found["items"]], found
    assert pub["id"] in [i["id"] for i in assert_json(srv.get(P, "/marketplace/search?tag=finance"))["items"]]
    assert pub["id"] not in [i["id"] for i in assert_json(srv.get(P, "/marketplace/search?q=zebra"))["items"]]
    # FTS5 operators in q are words, not syntax
    assert_json(srv.get(P, "/marketplace/search?q=%22AND%20OR%20NEAR(*"))
    other = srv.tenant_headers("marketb")
    r = srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=other)
    res = assert_json(r, 201)
    kinds = sorted(c["kind"] for c in res["created"])
    assert kinds == ["decision", "form", "process"], res
    proc_id = next(c["id"] for c in res["created"] if c["kind"] == "process")
    # the installed process is published in tenant B and runs there
    inst = start(srv, proc_id, headers=other)
    wait_state(srv, inst["id"], "completed", headers=other)
    rules = assert_json(srv.req("GET", 8018, "/rules?q=Approval%20rules", headers=other))
    assert any(x["name"] == "Approval rules " + name for x in rules["items"]), rules
    assert srv.req("GET", 9003, "/forms/form-" + name, headers=other).status == 200
    # tenant A (the publisher) got nothing installed
    assert srv.get(9003, "/forms/form-" + name).status == 404
    got = assert_json(srv.get(P, "/marketplace/" + pub["id"]))
    assert got["downloads"] == 1, got


def test_conflicts_rename_skip_and_upgrade(srv):
    name = unique_name("conf").lower()
    pub = publish(srv, package(name))
    t = srv.tenant_headers("marketc")
    # tenant C already has a process and a form of the package's names
    x = assert_json(srv.req("POST", 9003, "/processes", body={"name": "Invoice approval " + name,
                                                                "xml": process_xml("mine")}, headers=t), 201)
    assert_json(srv.req("POST", 9003, "/forms", body=form("form-" + name)["schema"], headers=t), 201)
    pr = assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t), 409)
    assert sorted(c["kind"] for c in pr["conflicts"]) == ["form", "process"], pr
    assert not any(i["name"].startswith("Approval rules " + name)
                   for i in assert_json(srv.req("GET", 8018, "/rules?q=" + name, headers=t))["items"]), \
        "a refused install created something"
    res = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={"onConflict": "rename"},
                              headers=t), 201)
    assert [c["detail"] for c in res["renamed"]] == ["Invoice approval %s (%s)" % (name, name)], res
    assert [c["kind"] for c in res["skipped"]] == ["form"], res
    procs = assert_json(srv.req("GET", 9003, "/processes?q=" + name, headers=t))["items"]
    assert sorted(p["name"] for p in procs) == sorted(["Invoice approval " + name,
                                                       "Invoice approval %s (%s)" % (name, name)]), procs
    assert any(p["id"] == x["id"] for p in procs)
    # same version again: 409; a newer version upgrades the objects made before
    assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t), 409)
    v2 = package(name, "1.1.0", changelog="script returns 2",
                 processes=[{"name": "Invoice approval " + name, "bpmn": process_xml("inv2", "=2")}])
    assert publish(srv, v2)["latestVersion"] == "1.1.0"
    up = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t))
    assert up["upgradedFrom"] == "1.0.0" and up["version"] == "1.1.0", up
    renamed_id = next(c["id"] for c in res["created"] if c["kind"] == "process")
    assert [c["id"] for c in up["updated"] if c["kind"] == "process"] == [renamed_id], up
    versions = assert_json(srv.req("GET", 9003, "/processes/%s/versions" % renamed_id, headers=t))
    assert versions["total"] == 2, versions
    # an older or equal version is refused at publish
    assert_problem(srv.req("POST", P, "/marketplace/publish", body=package(name, "1.0.5")), 409)


def test_skip_keeps_the_tenants_own(srv):
    name = unique_name("skip").lower()
    pub = publish(srv, package(name))
    t = srv.tenant_headers("marketd")
    mine = assert_json(srv.req("POST", 8018, "/rules", body={"name": "Approval rules " + name,
                                                            "dmn": dmn("mine-" + name)}, headers=t), 201)
    res = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={"onConflict": "skip"},
                              headers=t), 201)
    assert [(c["kind"], c["id"]) for c in res["skipped"]] == [("decision", mine["id"])], res
    assert sorted(c["kind"] for c in res["created"]) == ["form", "process"], res


def test_tampered_package_refused(srv):
    name = unique_name("tamper").lower()
    pub = publish(srv, package(name))
    v = assert_json(srv.get(P, "/marketplace/%s/versions/1.0.0" % pub["id"]))
    assert v["signatureValid"] is True and v["publicKey"] == pub["publicKey"], v
    db = sqlite3.connect(os.path.join(srv.data_dir, "marketplace.db"), timeout=10)
    db.execute("UPDATE package_versions SET content = replace(content, '=1', '=666') WHERE package_id = ?",
               (pub["id"],))
    db.commit()
    db.close()
    t = srv.tenant_headers("markete")
    pr = assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t), 422,
                        title="Unprocessable Content")
    assert "signature" in pr["detail"], pr
    assert assert_json(srv.req("GET", 9003, "/processes?q=" + name, headers=t))["total"] == 0
    assert assert_json(srv.get(P, "/marketplace/%s/versions/1.0.0" % pub["id"]))["signatureValid"] is False


def test_ratings_and_sorts(srv):
    a = publish(srv, package(unique_name("ra").lower(), tags=["ratingtest"]))
    b = publish(srv, package(unique_name("rb").lower(), tags=["ratingtest"]))
    assert_json(srv.req("POST", P, "/marketplace/%s/ratings" % a["id"], body={"stars": 2, "review": "meh"}))
    got = assert_json(srv.req("POST", P, "/marketplace/%s/ratings" % b["id"], body={"stars": 5, "review": "great"}))
    assert got["rating"] == 5 and got["ratings"] == 1 and got["reviews"][0]["review"] == "great", got
    # the same user rating again replaces the rating
    got = assert_json(srv.req("POST", P, "/marketplace/%s/ratings" % b["id"], body={"stars": 4}))
    assert got["rating"] == 4 and got["ratings"] == 1, got
    items = assert_json(srv.get(P, "/marketplace/search?tag=ratingtest&sort=rating"))["items"]
    assert [i["id"] for i in items] == [b["id"], a["id"]], items
    assert_problem(srv.req("POST", P, "/marketplace/%s/ratings" % a["id"], body={"stars": 6}), 422)
    assert_problem(srv.req("POST", P, "/marketplace/pkg_nope/ratings", body={"stars": 3}), 404)


def test_bad_input(srv):
    name = unique_name("bad").lower()
    cases = [
        (dict(package(name), name="Has Caps"), "/name"),
        (dict(package(name), version="1.0"), "/version"),
        (dict(package(name), version="01.0.0"), "/version"),
        (dict(package(name), license=""), "/license"),
        (dict(package(name), tags=["Bad Tag"]), "/tags"),
        (dict(package(name), colour="red"), "/colour"),
        (dict(package(name), processes=[{"name": "x", "bpmn": "<not-bpmn"}]), "/processes/0/bpmn"),
        (dict(package(name), decisions=[{"name": "x", "dmn": "<definitions/>"}]), "/decisions/0/dmn"),
        (dict(package(name), forms=[{"schema": {"components": []}}]), "/forms/0/schema"),
        (dict(package(name), processes=[], decisions=[], forms=[]), "/processes"),
        (dict(package(name), processes=[{"name": "x", "bpmn": process_xml("a")}] * 2), "/processes/1/name"),
    ]
    for body, ptr in cases:
        pr = assert_problem(srv.req("POST", P, "/marketplace/publish", body=body), 422)
        assert pr["errors"][0]["pointer"] == ptr, (ptr, pr)
    assert assert_json(srv.get(P, "/marketplace/search?q=" + name))["total"] == 0, "a refused package was stored"
    pub = publish(srv, package(name))
    other = srv.tenant_headers("marketf")
    # another tenant cannot publish versions of this package name
    assert_problem(srv.req("POST", P, "/marketplace/publish", body=package(name, "2.0.0"), headers=other), 403)
    assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={"onConflict": "merge"}), 422)
    assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={"version": "9.9.9"}), 404)
    assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body="{", headers={
        "Content-Type": "application/json"}), 400)
    assert_problem(srv.get(P, "/marketplace/search?sort=price"), 422)
    assert_problem(srv.get(P, "/marketplace/pkg_nope"), 404)
    json.dumps(pub)


# ---- prompts in packages (Prompt Engineering, 8012) ----

def prompt(name, template="Summarise invoice {{invoice.number}} for {{customer}}.{{> sign}}", **kw):
    p = {"name": name, "template": template,
         "variables": {"type": "object", "required": ["customer"],
                       "properties": {"customer": {"type": "string", "minLength": 1}}},
         "partials": {"sign": " -- {{team}}"}, "outputFormat": "json",
         "outputSchema": {"type": "object", "properties": {"summary": {"type": "string"}}},
         "description": "invoice summary"}
    p.update(kw)
    return p


def prompt_package(name, version="1.0.0", **kw):
    p = {"name": name, "version": version, "license": "MIT", "description": "Prompts for invoices",
         "tags": ["prompts"], "prompts": [prompt("inv-summary-" + name)], "changelog": "first"}
    p.update(kw)
    return p


VARS = {"invoice": {"number": "A-17"}, "customer": "ACME", "team": "AP"}


def test_prompt_package_publish_search_install_render(srv):
    name = unique_name("pr").lower()
    pname = "inv-summary-" + name
    pub = publish(srv, prompt_package(name))
    assert pub["contents"]["prompts"] == [pname] and pub["contents"]["processes"] == [], pub
    found = assert_json(srv.get(P, "/marketplace/search?q=" + name))["items"]
    assert [i["contents"]["prompts"] for i in found] == [[pname]], found
    v = assert_json(srv.get(P, "/marketplace/%s/versions/1.0.0" % pub["id"]))
    assert v["content"]["prompts"][0]["template"].startswith("Summarise") and v["signatureValid"], v
    other = srv.tenant_headers("marketg")
    res = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=other), 201)
    assert [(c["kind"], c["name"]) for c in res["created"]] == [("prompt", pname)], res
    pid = res["created"][0]["id"]
    got = assert_json(srv.req("GET", 8012, "/prompts/" + pid, headers=other))
    assert got["labels"] == {"production": 1} and got["description"] == "invoice summary", got
    assert got["version"]["outputFormat"] == "json", got
    r = assert_json(srv.req("POST", 8012, "/prompts/%s/render" % pname, body={"variables": VARS}, headers=other))
    assert r["text"] == "Summarise invoice A-17 for ACME. -- AP" and r["outputSchema"]["type"] == "object", r
    # the prompt's variables schema came along: a missing customer is named
    pr = assert_problem(srv.req("POST", 8012, "/prompts/%s/render" % pname,
                                body={"variables": {"team": "AP"}}, headers=other), 422)
    assert pr["errors"][0]["pointer"] == "/variables/customer", pr
    # the publisher's tenant got nothing
    assert srv.get(8012, "/prompts/" + pname).status == 404
    # an upgrade adds a version and moves the production label
    v2 = prompt_package(name, "1.1.0", prompts=[prompt(pname, template="Short: {{customer}}")])
    publish(srv, v2)
    up = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=other))
    assert [(c["kind"], c["id"]) for c in up["updated"]] == [("prompt", pid)], up
    got = assert_json(srv.req("GET", 8012, "/prompts/" + pid, headers=other))
    assert got["latestVersion"] == 2 and got["labels"] == {"production": 2}, got
    r = assert_json(srv.req("POST", 8012, "/prompts/%s/render" % pid, body={"variables": VARS}, headers=other))
    assert r["text"] == "Short: ACME", r


def test_prompt_conflicts_fail_rename_skip(srv):
    name = unique_name("pc").lower()
    pname = "inv-summary-" + name
    pub = publish(srv, prompt_package(name, decisions=[{"name": "Rules " + name, "dmn": dmn("d-" + name)}]))
    t = srv.tenant_headers("marketh")
    mine = assert_json(srv.req("POST", 8012, "/prompts", body={"name": pname, "template": "mine {{x}}"},
                               headers=t), 201)
    pr = assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t), 409)
    assert [(c["kind"], c["id"]) for c in pr["conflicts"]] == [("prompt", mine["id"])], pr
    assert not any(i["name"] == "Rules " + name
                   for i in assert_json(srv.req("GET", 8018, "/rules?q=" + name, headers=t))["items"]), \
        "a refused install created something"
    res = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={"onConflict": "rename"},
                              headers=t), 201)
    assert [(c["kind"], c["detail"]) for c in res["renamed"]] == [("prompt", pname + "." + name)], res
    r = assert_json(srv.req("POST", 8012, "/prompts/%s.%s/render" % (pname, name), body={"variables": VARS},
                            headers=t))
    assert r["text"] == "Summarise invoice A-17 for ACME. -- AP", r
    # the tenant's own prompt is untouched
    assert assert_json(srv.req("GET", 8012, "/prompts/" + mine["id"], headers=t))["latestVersion"] == 1
    # skip, in another tenant: its prompt is kept, and kept again by an upgrade
    t2 = srv.tenant_headers("marketi")
    mine2 = assert_json(srv.req("POST", 8012, "/prompts", body={"name": pname, "template": "mine"}, headers=t2),
                        201)
    res = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={"onConflict": "skip"},
                              headers=t2), 201)
    assert [(c["kind"], c["id"]) for c in res["skipped"]] == [("prompt", mine2["id"])], res
    assert [c["kind"] for c in res["created"]] == ["decision"], res
    publish(srv, prompt_package(name, "1.0.1", decisions=[{"name": "Rules " + name, "dmn": dmn("d-" + name)}]))
    up = assert_json(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t2))
    assert [c["kind"] for c in up["skipped"]] == ["prompt"] and [c["kind"] for c in up["updated"]] == ["decision"], up
    got = assert_json(srv.req("GET", 8012, "/prompts/" + mine2["id"], headers=t2))
    assert got["latestVersion"] == 1 and got["version"]["template"] == "mine", got


def test_prompt_bad_input_stores_nothing(srv):
    name = unique_name("pb").lower()
    good = prompt("p-" + name)
    cases = [
        ([dict(good, template="Hello {{#open}} never closed")], "/prompts/0/template"),
        ([dict(good, template="")], "/prompts/0/template"),
        ([dict(good, partials={"sign": "{{/stray}}"})], "/prompts/0/partials/sign"),
        ([dict(good, variables={"type": "object", "properties": {"a": {"minLength": "x"}}})], "/prompts/0/variables"),
        ([dict(good, outputFormat="xml")], "/prompts/0/outputFormat"),
        ([dict(good, outputFormat="text")], "/prompts/0/outputSchema"),
        ([dict(good, name="has space")], "/prompts/0/name"),
        ([dict(good, name="x" * 100)], "/prompts/0/name"),
        ([dict(good, labels={"production": 1})], "/prompts/0/labels"),
        ([good, good], "/prompts/1/name"),
        ("not-a-list", "/prompts"),
    ]
    for prompts, ptr in cases:
        pr = assert_problem(srv.req("POST", P, "/marketplace/publish", body=prompt_package(name, prompts=prompts)),
                            422)
        assert pr["errors"][0]["pointer"] == ptr, (ptr, pr)
    pr = assert_problem(srv.req("POST", P, "/marketplace/publish", body=prompt_package(
        name, prompts=[dict(good, template="Hello {{#open}} never closed")])), 422)
    assert "line 1" in pr["errors"][0]["detail"], pr
    assert assert_json(srv.get(P, "/marketplace/search?q=" + name))["total"] == 0, "a refused package was stored"


def test_tampered_prompt_refused(srv):
    name = unique_name("pt").lower()
    pub = publish(srv, prompt_package(name))
    db = sqlite3.connect(os.path.join(srv.data_dir, "marketplace.db"), timeout=10)
    db.execute("UPDATE package_versions SET content = replace(content, 'Summarise', 'Leak the secrets of') "
               "WHERE package_id = ?", (pub["id"],))
    db.commit()
    db.close()
    assert assert_json(srv.get(P, "/marketplace/%s/versions/1.0.0" % pub["id"]))["signatureValid"] is False
    t = srv.tenant_headers("marketj")
    pr = assert_problem(srv.req("POST", P, "/marketplace/%s/install" % pub["id"], body={}, headers=t), 422,
                        title="Unprocessable Content")
    assert "signature" in pr["detail"], pr
    assert srv.req("GET", 8012, "/prompts/inv-summary-" + name, headers=t).status == 404


def test_screenshots_are_the_processes_drawn(srv):
    """Each process of a package has a screenshot: its diagram as SVG, drawn from the
    signed content (docs/marketplace.md)."""
    name = unique_name("shot").lower()
    pkg = package(name)
    pkg["processes"] = pkg["processes"] + [{"name": "Second " + name, "bpmn": process_xml("second")}]
    pub = publish(srv, pkg)
    got = assert_json(srv.get(P, "/marketplace/" + pub["id"]))
    shots = got["screenshots"]
    assert [s["url"] for s in shots] == ["/marketplace/%s/screenshots/%d" % (pub["id"], i) for i in (1, 2)], shots
    assert shots[1]["process"] == "Second " + name and shots[0]["mediaType"] == "image/svg+xml", shots
    other = srv.tenant_headers("marketshot")   # any tenant may look before installing
    for i, pid in ((1, None), (2, "second")):
        r = srv.req("GET", P, shots[i - 1]["url"], headers=other)
        assert r.status == 200 and r.headers.get("content-type", "").startswith("image/svg+xml"), r
        svg = r.body.decode()
        assert svg.startswith("<svg") or svg.startswith("<?xml"), svg[:80]
        assert "<rect" in svg or "<circle" in svg, svg[:200]
    r = srv.req("GET", P, shots[0]["url"] + "?version=1.0.0")
    assert r.status == 200
    assert_problem(srv.get(P, "/marketplace/%s/screenshots/3" % pub["id"]), 404)
    assert_problem(srv.get(P, "/marketplace/%s/screenshots/0" % pub["id"]), 422)
    assert_problem(srv.get(P, "/marketplace/%s/screenshots/1?version=9.9.9" % pub["id"]), 404)
    assert_problem(srv.get(P, "/marketplace/pkg_nope/screenshots/1"), 404)
