"""GET /openapi.json on the gateway: an OpenAPI 3.1 document generated from the routing
table — every API route of `flowmaster routes --json` (port 9000) is an operation, with
its path parameters, security, permission and whether it is built."""

import json
import re

from harness import assert_json, run_cli


def test_openapi_matches_the_routing_table(srv):
    r = srv.req("GET", 9000, "/openapi.json", auth=False)     # public
    doc = assert_json(r)
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"] == "FlowMaster API", doc["info"]
    assert "bearer" in doc["components"]["securitySchemes"]
    routes = json.loads(run_cli(["routes", "--json"]).stdout)
    gateway = [x for x in routes if x["port"] == 9000]
    ops = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert len(ops) == len(gateway), "%d operations for %d gateway routes" % (len(ops), len(gateway))
    for x in gateway:
        op = ops.get((x["method"], x["pattern"]))
        assert op, "no operation for %s %s" % (x["method"], x["pattern"])
        assert op["x-flowmaster-implemented"] == x["implemented"], x
        names = [p["name"] for p in op["parameters"] if p.get("in") == "path"]
        assert names == re.findall(r"\{(\w+)\}", x["pattern"]), (x["pattern"], names)
        if x["auth"] == "public":
            assert op["security"] == [], x
        else:
            assert op["security"] == [{"bearer": []}], x
            assert {"$ref": "#/components/parameters/tenant"} in op["parameters"], x
            if x["auth"] != "authenticated":
                assert op["x-flowmaster-permission"] == x["auth"], x
        if not x["implemented"]:
            assert set(op["responses"]) == {"501"}, x
    # a few that must be there, as they are
    assert ops[("POST", "/auth/login")]["security"] == []
    assert ops[("GET", "/services")]["x-flowmaster-permission"] == "registry:read"
    assert ops[("POST", "/agents/{id}/invoke")]["tags"] == ["orchestration"]
    assert ops[("POST", "/agents/{id}/learn")]["tags"] == ["agents"]
