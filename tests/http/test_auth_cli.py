"""The identity commands: `flowmaster user add`, `keys rotate`, `token --service`
(docs/auth.md), against the auth database of a data dir, with and without a server."""

import os
import tempfile

from harness import Server, run_cli, assert_json, assert_problem, http_request


def _user_add(data_dir, tenant, email, role, password):
    return run_cli(["user", "add", "--data-dir", data_dir, "--tenant", tenant,
                    "--email", email, "--role", role], input=password + "\n")


def test_user_add_then_login():
    d = tempfile.mkdtemp(prefix="fm-cli-")
    r = _user_add(d, "acme", "bob@acme.test", "designer", "bob-password-123")
    assert r.returncode == 0, r
    assert r.stdout.strip().startswith("usr_"), r.stdout
    # the same email again: refused, exit 1
    r2 = _user_add(d, "acme", "bob@acme.test", "designer", "bob-password-123")
    assert r2.returncode == 1 and "exists" in r2.stderr, r2
    # bad input: short password, unknown role, missing flags
    assert _user_add(d, "acme", "eve@acme.test", "designer", "short").returncode == 2
    r3 = _user_add(d, "acme", "eve@acme.test", "no-such-role", "eve-password-123")
    assert r3.returncode == 2 and "no-such-role" in r3.stderr, r3
    assert run_cli(["user", "add", "--data-dir", d]).returncode == 2
    assert run_cli(["user", "remove", "--data-dir", d, "--email", "x@y", "--role", "admin"]).returncode == 2
    with Server(data_dir=d) as s:
        tok = s.login("bob@acme.test", "bob-password-123", "acme")["accessToken"]
        h = {"Authorization": "Bearer " + tok, "X-Tenant-Id": "acme"}
        # a designer reads the registry but may not register services
        assert s.req("GET", 8001, "/services?limit=1", headers=h).status == 200
        assert_problem(s.req("POST", 8001, "/services", body={"name": "x", "url": "http://127.0.0.1:1"},
                             headers=h), 403, "Forbidden")


def test_token_and_key_rotation():
    d = tempfile.mkdtemp(prefix="fm-cli-")
    # no tenant and no key yet: a clear refusal
    r = run_cli(["token", "--service", "ci", "--data-dir", d])
    assert r.returncode == 1 and "tenant" in r.stderr, r
    with Server(data_dir=d) as s:
        off = str(s.offset)
        r = run_cli(["token", "--service", "ci", "--data-dir", d, "--port-offset", off])
        assert r.returncode == 0, r
        old = r.stdout.strip()
        h = {"Authorization": "Bearer " + old, "X-Tenant-Id": "default"}
        assert s.req("GET", 8001, "/services?limit=1", headers=h).status == 200
        # the token names this service account
        v = assert_json(s.req("GET", 8002, "/auth/validate", headers=h))
        assert v["claims"]["sub"] == "svc:ci" and v["claims"]["svc"] == "ci", v
        # rotate from the CLI: the server picks the new key up within seconds, and the
        # old token keeps working until it expires
        k = run_cli(["keys", "rotate", "--data-dir", d])
        assert k.returncode == 0 and k.stdout.strip().startswith("key_"), k
        new_kid = k.stdout.strip()

        def new_token_works():
            t = run_cli(["token", "--service", "ci", "--data-dir", d, "--port-offset", off]).stdout.strip()
            hh = {"Authorization": "Bearer " + t, "X-Tenant-Id": "default"}
            return s.req("GET", 8001, "/services?limit=1", headers=hh).status == 200 and t
        from harness import wait_until
        t = wait_until(new_token_works, timeout=12, what="a token of the rotated key accepted")
        import base64, json
        head = json.loads(base64.urlsafe_b64decode(t.split(".")[0] + "=="))
        assert head["kid"] == new_kid and head["alg"] == "EdDSA", head
        assert s.req("GET", 8001, "/services?limit=1", headers=h).status == 200, "old token rejected"
        # a token minted with another issuer (no --port-offset) is refused
        other = run_cli(["token", "--service", "ci", "--data-dir", d]).stdout.strip()
        bad = s.req("GET", 8001, "/services?limit=1",
                    headers={"Authorization": "Bearer " + other, "X-Tenant-Id": "default"})
        assert_problem(bad, 401, "Unauthorized")


def test_rotated_key_verifies_at_once():
    """`keys rotate` from another process, then `token`: the server accepts the new
    token on the first request (the ring reloads when a token names a kid the database
    holds), every time, not after the periodic reload."""
    d = tempfile.mkdtemp(prefix="fm-cli-")
    with Server(data_dir=d) as s:
        off = str(s.offset)
        for _ in range(3):
            k = run_cli(["keys", "rotate", "--data-dir", d])
            assert k.returncode == 0, k
            t = run_cli(["token", "--service", "ci", "--data-dir", d, "--port-offset", off])
            assert t.returncode == 0, t
            h = {"Authorization": "Bearer " + t.stdout.strip(), "X-Tenant-Id": "default"}
            r = s.req("GET", 8001, "/services?limit=1", headers=h)
            assert r.status == 200, r
        # a made-up kid is still refused (and does not reload anything into the ring)
        import base64, json
        head, body, sig = t.stdout.strip().split(".")
        fake = base64.urlsafe_b64encode(json.dumps(
            {"alg": "EdDSA", "typ": "JWT", "kid": "key_nosuch"}).encode()).decode().rstrip("=")
        bad = s.req("GET", 8001, "/services?limit=1",
                    headers={"Authorization": "Bearer %s.%s.%s" % (fake, body, sig), "X-Tenant-Id": "default"})
        assert bad.status == 401 and "unknown kid" in bad.headers.get("www-authenticate", ""), bad
