#!/usr/bin/env python3
"""Runs the HTTP integration tests: every test_* function of tests/http/test_*.py.

    python3 tests/http/run.py [FILTER]      (FILTER: substring of "file.test_name")
    FM_BIN=path/to/flowmaster python3 tests/http/run.py

A test that raises harness.Skip is reported as `skip NAME: reason`.
Fixtures are passed by parameter name and shared by the tests of one file:
  srv      a Server with default settings
  NAME     any factory in the file's FIXTURES = {"NAME": lambda: Server(...)}
A file may set TEST_TIMEOUT = seconds (per test) above the default FM_TEST_TIMEOUT.
Shared servers are started on first use and killed when the file is done. After each
test a shared server that died fails that test. Prints `ok NAME` / `FAIL NAME: reason`
and, last, `N passed, M failed`; exits 1 when anything failed.
"""

import importlib
import inspect
import os
import signal
import sys
import time
import traceback

sys.dont_write_bytecode = True  # keep tests/http free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

TEST_TIMEOUT = int(os.environ.get("FM_TEST_TIMEOUT", "60"))  # seconds per test
# A test file may raise its own: a module-level TEST_TIMEOUT (seconds per test of that
# file), used when larger than the default (the browser journeys need minutes).
_timeout = TEST_TIMEOUT


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded %ds" % _timeout)


def _term(signum, frame):
    raise SystemExit(130)


def reason(exc):
    """One line: message plus where in a test file it was raised."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    for fr in reversed(tb):
        if os.path.basename(fr.filename).startswith("test_"):
            where = " [%s:%d: %s]" % (os.path.basename(fr.filename), fr.lineno,
                                      (fr.line or "").strip())
            break
    msg = str(exc) or type(exc).__name__
    if not isinstance(exc, AssertionError):
        msg = "%s: %s" % (type(exc).__name__, msg)
    return " ".join(msg.split()) + where


def main(argv):
    global _timeout
    filt = argv[1] if len(argv) > 1 else ""
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _term)
    if not os.path.exists(harness.binary()):
        print("binary not found: %s (set FM_BIN)" % harness.binary())
        print("0 passed, 1 failed")
        return 1
    files = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    passed = failed = skipped = 0
    t0 = time.monotonic()
    try:
        for fname in files:
            modname = fname[:-3]
            try:
                mod = importlib.import_module(modname)
            except Exception as e:  # a broken test file fails as a whole
                print("FAIL %s: import: %s" % (modname, reason(e)), flush=True)
                failed += 1
                continue
            tests = [(n, f) for n, f in vars(mod).items()
                     if n.startswith("test_") and inspect.isfunction(f)
                     and f.__module__ == modname]
            tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
            tests = [(n, f) for n, f in tests if filt in "%s.%s" % (modname, n)]
            if not tests:
                continue
            _timeout = max(TEST_TIMEOUT, int(getattr(mod, "TEST_TIMEOUT", 0) or 0))
            factories = {"srv": lambda: harness.Server()}
            factories.update(getattr(mod, "FIXTURES", {}))
            shared = {}
            try:
                for name, fn in tests:
                    full = "%s.%s" % (modname, name)
                    ts = time.monotonic()
                    try:
                        signal.alarm(_timeout)
                        kwargs = {}
                        for p in inspect.signature(fn).parameters:
                            if p not in shared:
                                if p not in factories:
                                    raise RuntimeError("unknown fixture %r" % p)
                                shared[p] = factories[p]()
                            kwargs[p] = shared[p]
                        fn(**kwargs)
                        signal.alarm(0)
                        dead = [(k, s) for k, s in shared.items()
                                if isinstance(s, harness.Server) and not s.alive()
                                and s.proc is not None and s.returncode is None]
                        if dead:
                            k, s = dead[0]
                            rc = s.proc.poll()
                            raise AssertionError("shared server %r died (exit %s); stderr: %s"
                                                 % (k, rc, s.stderr_tail(600)))
                        passed += 1
                        print("ok %s (%.2fs)" % (full, time.monotonic() - ts), flush=True)
                    except harness.Skip as e:
                        signal.alarm(0)
                        skipped += 1
                        print("skip %s: %s" % (full, e), flush=True)
                    except (Exception, TestTimeout) as e:
                        signal.alarm(0)
                        failed += 1
                        print("FAIL %s: %s" % (full, reason(e)), flush=True)
                        if os.environ.get("FM_TRACE"):
                            traceback.print_exc()
                        for k in [k for k, s in shared.items()
                                  if isinstance(s, harness.Server) and not s.alive()]:
                            shared.pop(k).close()
            finally:
                signal.alarm(0)
                for s in shared.values():
                    if hasattr(s, "close"):
                        s.close()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        failed += 1
    finally:
        signal.alarm(0)
        harness.cleanup_all()
    sys.stderr.write("total %.1fs\n" % (time.monotonic() - t0))
    sys.stderr.flush()
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
