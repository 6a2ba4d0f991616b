"""End-to-end test harness for the FlowMaster binary (stdlib only).

`Server` starts `flowmaster serve` on a free port offset with its own temporary data
dir, waits until its ports accept connections, and offers `req()` to talk HTTP to any
canonical port (the offset is added for you). Every Server ever created is tracked, so
`cleanup_all()` (also run at exit) kills leftover processes and removes temp dirs.

The contract being tested is docs/core.md.
"""

import atexit
import datetime
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOST = "127.0.0.1"


def binary():
    path = os.environ.get("FM_BIN", "build/flowmaster")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


# --- the catalogue (docs/core.md, "Ports") -------------------------------------------

PORT_MODULES = {
    9000: ["gateway", "mcp"],
    8001: ["registry"],
    8002: ["auth", "sso"],
    8009: ["knowledge"],
    8012: ["prompts"],
    8014: ["entities"],
    8018: ["rules"],
    8019: ["views"],
    8020: ["versioning"],
    8021: ["linking"],
    9002: ["documents"],
    9003: ["design"],
    9005: ["execution"],
    9006: ["tasks"],
    9007: ["orchestration"],
    9008: ["scheduling"],
    9009: ["notifications"],
    9010: ["websocket"],
    9011: ["dxg"],
    9013: ["eventbus"],
    9014: ["analytics"],
    9015: ["integrations"],
    9016: ["marketplace", "agents"],
    3000: ["frontend"],
    3001: ["engage"],
    3002: ["designer"],
    3005: ["manager"],
}
PORTS = sorted(PORT_MODULES)
MODULE_PORT = {m: p for p, ms in PORT_MODULES.items() for m in ms}
MODULES = sorted(MODULE_PORT)
WEB_PORTS = [3000, 3001, 3002, 3005]
assert len(PORTS) == 27 and len(MODULES) == 30

RID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# The bootstrap admin every test server starts with (tenant "default").
ADMIN_EMAIL = "admin@localhost"
ADMIN_PASSWORD = "test-admin-password-1"


# --- small utilities -----------------------------------------------------------------

def port_free(port):
    """True when nothing listens on HOST:port (and we may bind it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _offset_range():
    """Offsets whose ports stay below the kernel's ephemeral range when possible, so a
    client connection's local port can never collide with a server port."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    top = lo - 1 - max(PORTS)          # highest offset below the ephemeral range
    if top - 10000 >= 2000:
        return 10000, top
    return 20000, min(55000, 65535 - max(PORTS))


def free_offset(ports=PORTS, tries=200):
    a, b = _offset_range()
    for _ in range(tries):
        n = random.randint(a, b)
        if all(port_free(p + n) for p in ports):
            return n
    raise RuntimeError("no free port offset found")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bind_low(make, tries=200):
    """A local receiver (HTTP, SMTP, ...) on a free port below the ephemeral range, never
    on port 0 (which the kernel takes from that range): make((HOST, port)) is tried on
    random ports until it binds. Returns what make returned."""
    hi = _ephemeral_low() - 1
    for _ in range(tries):
        try:
            return make((HOST, random.randint(10000, hi)))
        except OSError:
            continue
    raise RuntimeError("no free port below %d" % hi)


def free_low_port():
    """A port below the ephemeral range that is free now (for a receiver run as a child)."""
    def check(addr):
        if not port_free(addr[1]):
            raise OSError("in use")
        return addr[1]
    return bind_low(check)


def parse_time(s):
    """RFC 3339 -> aware datetime (raises on junk)."""
    assert isinstance(s, str) and re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", s), \
        "not an RFC 3339 timestamp: %r" % (s,)
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def wait_until(fn, timeout=5.0, interval=0.05, what="condition"):
    """Poll fn() until it returns a truthy value; return it, or raise AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except (OSError, http.client.HTTPException) as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


class Resp(tuple):
    """(status, headers, body, json) that also has named fields."""
    __slots__ = ()

    def __new__(cls, status, headers, body, data):
        return tuple.__new__(cls, (status, headers, body, data))

    status = property(lambda self: self[0])
    headers = property(lambda self: self[1])
    body = property(lambda self: self[2])
    json = property(lambda self: self[3])

    @property
    def text(self):
        return self[2].decode("utf-8", "replace")

    def __repr__(self):
        b = self[2][:300]
        return "<HTTP %s %s %r>" % (self[0], self[1].get("content-type"), b)


def http_request(port, method, path, body=None, headers=None, raw=None, timeout=10.0,
                 host=HOST):
    """One request on a fresh connection. body: dict/list -> JSON; str/bytes sent as is.
    raw: bytes written verbatim to the socket (a whole request); the reply is parsed."""
    hdrs = {}
    if raw is not None:
        s = socket.create_connection((host, port), timeout=timeout)
        try:
            s.sendall(raw)
            resp = http.client.HTTPResponse(s, method=method)
            resp.begin()
            data = resp.read()
            status, hlist = resp.status, resp.getheaders()
        finally:
            s.close()
    else:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                # the server answered (e.g. 413) and closed before taking the whole
                # body: the answer may still be readable
                pass
            resp = conn.getresponse()
            data = resp.read()
            status, hlist = resp.status, resp.getheaders()
        finally:
            conn.close()
    h = {}
    for k, v in hlist:
        k = k.lower()
        h[k] = v if k not in h else h[k] + ", " + v
    parsed = None
    ctype = h.get("content-type", "")
    if "json" in ctype and data:
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
    return Resp(status, h, data, parsed)


def run_cli(args, timeout=15, env=None, input=None):
    """Run the binary with args; returns CompletedProcess (text). On timeout the child
    is killed and returncode is None."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        return subprocess.run([binary()] + list(args), capture_output=True, text=True,
                              timeout=timeout, env=e, input=input,
                              errors="replace")
    except subprocess.TimeoutExpired as ex:
        def s(x):
            return x.decode("utf-8", "replace") if isinstance(x, bytes) else (x or "")
        return subprocess.CompletedProcess(ex.cmd, None, s(ex.stdout), s(ex.stderr))


# --- the server ------------------------------------------------------------------------

_ALL = []


class ServerError(Exception):
    pass


class Skip(Exception):
    """Raised by a test that cannot run here (the reason says why); run.py reports it as
    `skip NAME: reason` and counts it apart from passes and failures."""


class Server:
    """A running `flowmaster serve`.

    env: extra environment (e.g. {"FLOWMASTER_SERVER_BODY_LIMIT": "1024"});
    args: extra CLI args; data_dir: reuse this dir (not deleted); modules: "a,b" for
    --modules; wait_ports: canonical ports to wait for (default: ports of `modules`, or
    all 27)."""

    def __init__(self, env=None, args=None, data_dir=None, modules=None, wait_ports=None,
                 start=True, timeout=10.0, host=HOST):
        self.host = host
        self.tmp = tempfile.mkdtemp(prefix="fm-http-")
        self.own_data = data_dir is None
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.env = dict(env or {})
        self.args = list(args or [])
        self.modules = modules
        if wait_ports is None:
            if modules:
                wait_ports = sorted({MODULE_PORT[m] for m in modules.split(",")
                                     if m in MODULE_PORT})
            else:
                wait_ports = PORTS
        self.wait_ports = list(wait_ports)
        self.proc = None
        self.offset = None
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.stdout_path = os.path.join(self.tmp, "stdout.log")
        self.returncode = None
        _ALL.append(self)
        if start:
            self.start(timeout)

    # lifecycle
    def start(self, timeout=10.0):
        last = None
        for attempt in range(3):
            self.offset = free_offset()
            cmd = [binary(), "serve", "--data-dir", self.data_dir,
                   "--port-offset", str(self.offset)]
            if self.modules:
                cmd += ["--modules", self.modules]
            cmd += self.args
            env = dict(os.environ)
            env.setdefault("FLOWMASTER_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            env.update(self.env)
            self._tokens = {}
            self._err = open(self.stderr_path, "ab")
            self._out = open(self.stdout_path, "ab")
            self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=self._err, env=env,
                                         cwd=self.tmp, start_new_session=True)
            self.returncode = None
            try:
                self._wait_ready(timeout)
                return self
            except ServerError as e:
                last = e
                self.kill()
                # retry only when something else grabbed one of our ports meanwhile
                if "busy" in str(e).lower() or "in use" in str(e).lower():
                    continue
                raise
        raise last

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        pending = list(self.wait_ports)
        while pending:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                raise ServerError("server exited with %s during start-up; stderr: %s"
                                  % (rc, self.stderr_tail()))
            p = pending[0]
            try:
                socket.create_connection((self.host, p + self.offset), timeout=0.5).close()
                pending.pop(0)
                continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerError("ports %s not accepting after %.0fs; stderr: %s"
                                  % (pending, timeout, self.stderr_tail()))
            time.sleep(0.01)
        # one request: it waits until the first start's work (after the bind) is done
        http_request(self.wait_ports[0] + self.offset, "GET", "/health", timeout=timeout,
                     host=self.host)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM, wait; returns the exit code. Kills and raises on timeout."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server did not exit within %.0fs of SIGTERM; stderr: %s"
                                 % (timeout, self.stderr_tail()))
        self._close_files()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.returncode = self.proc.returncode
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f is not None and not f.closed:
                f.close()

    def close(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.own_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self in _ALL:
            _ALL.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # I/O
    def port(self, canonical):
        return canonical + self.offset

    def req(self, method, port, path, body=None, headers=None, raw=None, timeout=10.0,
            auth=True):
        """HTTP to a canonical port. Unless auth=False or the caller sets Authorization
        itself, the request carries the bootstrap admin's token and X-Tenant-Id
        "default" (a tenant header the caller passes is kept)."""
        hdrs = dict(headers or {})
        if auth and raw is None and not any(k.lower() == "authorization" for k in hdrs):
            tenant = next((v for k, v in hdrs.items() if k.lower() == "x-tenant-id"), None)
            try:
                token = self.admin_token()
            except OSError:
                token = None    # no auth module in this server (--modules): go without
            if token:
                if tenant is None:
                    hdrs["X-Tenant-Id"] = "default"
                hdrs["Authorization"] = "Bearer " + token
        return http_request(port + self.offset, method, path, body, hdrs, raw, timeout,
                            self.host)

    # identities
    def login(self, email, password, tenant="default"):
        """POST /auth/login; returns the token response (asserts 200)."""
        r = http_request(8002 + self.offset, "POST", "/auth/login",
                         {"email": email, "password": password, "tenant": tenant})
        assert r.status == 200, "login %s/%s failed: %r" % (tenant, email, r)
        return r.json

    def admin_token(self):
        if "admin" not in self._tokens:
            self._tokens["admin"] = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)["accessToken"]
        return self._tokens["admin"]

    def tenant_headers(self, tenant, roles=("admin",), email=None):
        """Headers (Authorization + X-Tenant-Id) of a user of `tenant` holding `roles`.
        The tenant (with its admin) and the user are made through the API on first use."""
        key = (tenant, tuple(roles), email)
        if key in self._tokens:
            return dict(self._tokens[key])
        if tenant == "default":
            admin = {"Authorization": "Bearer " + self.admin_token(), "X-Tenant-Id": "default"}
        else:
            admin_email, admin_pw = "admin@%s.test" % tenant, "pw-%s-0123456789" % tenant
            platform = {"Authorization": "Bearer " + self.admin_token(), "X-Tenant-Id": "default"}
            r = http_request(8002 + self.offset, "POST", "/auth/tenants",
                             {"id": tenant, "name": tenant,
                              "admin": {"email": admin_email, "password": admin_pw}}, platform)
            assert r.status in (201, 409), "create tenant %s: %r" % (tenant, r)
            tok = self.login(admin_email, admin_pw, tenant)["accessToken"]
            admin = {"Authorization": "Bearer " + tok, "X-Tenant-Id": tenant}
            if tuple(roles) == ("admin",) and email is None:
                self._tokens[key] = admin
                return dict(admin)
        email = email or "%s@%s.test" % ("-".join(roles) or "noroles", tenant)
        password = "pw-%s-%s-0123456789" % (tenant, "-".join(roles))
        r = http_request(8002 + self.offset, "POST", "/auth/users",
                         {"email": email, "password": password, "roles": list(roles)}, admin)
        assert r.status in (201, 409), "create user %s: %r" % (email, r)
        tok = self.login(email, password, tenant)["accessToken"]
        self._tokens[key] = {"Authorization": "Bearer " + tok, "X-Tenant-Id": tenant}
        return dict(self._tokens[key])

    def get(self, port, path, headers=None):
        return self.req("GET", port, path, headers=headers)

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, n=1500):
        s = self.stderr()
        return s[-n:] if s else "(empty)"

    def metrics(self):
        r = self.get(9000, "/metrics")
        assert r.status == 200, "GET /metrics: %r" % (r,)
        return r.text


def cleanup_all():
    for s in list(_ALL):
        try:
            s.close()
        except Exception:
            pass


atexit.register(cleanup_all)


# --- assertions ------------------------------------------------------------------------

TITLES = {400: "Malformed JSON", 404: "Not Found", 405: "Method Not Allowed",
          409: "Conflict", 413: "Content Too Large", 422: "Validation Failed",
          501: "Not Implemented"}


def assert_problem(r, status, title=None, rid=None):
    """r is an RFC 9457 problem with this status; instance == X-Request-Id."""
    assert r.status == status, "expected HTTP %d, got %r" % (status, r)
    ctype = r.headers.get("content-type", "")
    assert ctype.split(";")[0].strip() == "application/problem+json", \
        "expected application/problem+json, got %r (%r)" % (ctype, r)
    p = r.json
    assert isinstance(p, dict), "problem body is not a JSON object: %r" % (r,)
    assert p.get("status") == status, "problem status %r != %d" % (p.get("status"), status)
    if title is None:
        title = TITLES.get(status)
    assert isinstance(p.get("title"), str) and p["title"], "problem without title: %r" % p
    if title is not None:
        assert p["title"] == title, "title %r, expected %r" % (p["title"], title)
    assert isinstance(p.get("type"), str) and p["type"], "problem without type: %r" % p
    assert isinstance(p.get("detail"), str), "problem without detail: %r" % p
    xrid = r.headers.get("x-request-id")
    assert xrid, "no X-Request-Id header on %r" % (r,)
    assert p.get("instance") == xrid, "instance %r != X-Request-Id %r" % (p.get("instance"), xrid)
    if rid is not None:
        assert xrid == rid, "X-Request-Id %r, sent %r" % (xrid, rid)
    return p


def assert_json(r, status=200):
    assert r.status == status, "expected HTTP %d, got %r" % (status, r)
    ctype = r.headers.get("content-type", "")
    assert ctype.split(";")[0].strip() == "application/json", \
        "expected application/json, got %r" % (ctype,)
    assert r.json is not None, "body is not JSON: %r" % (r,)
    return r.json


def metric_values(text, name, **labels):
    """Values of the samples of `name` whose labels include `labels`."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == str(v) for k, v in labels.items()):
            out.append(float(m.group(4)))
    return out


def unique_name(prefix="svc"):
    return "%s-%d-%04x" % (prefix, os.getpid(), random.getrandbits(16))
