"""docs/tutorial.md runs as written (issue 12 item 1). Every ```sh block of the tutorial
is run, in order and in one bash shell (so variables carry over), from the repository
root against a fresh server, except the first (`make run`: the test starts the server
itself). Two substitutions, documented in the tutorial: `localhost:PORT` becomes the
test server's address with its port offset, and the `PASSWORD=` line gets the test
server's admin password. After each block, every `…` value of a line of the text after
it that starts with "prints" must appear in that block's output."""

import os
import re
import subprocess

from harness import REPO, HOST, ADMIN_PASSWORD, PORTS

TUTORIAL = os.path.join(REPO, "docs", "tutorial.md")
BLOCK = re.compile(r"^```sh\n(.*?)^```\n(.*?)(?=^```|\Z)", re.S | re.M)
MARK = "@@tutorial-block-%d@@"


def tutorial_blocks(path=TUTORIAL):
    """[(code, promised outputs)] of every ```sh block, in order."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = []
    for m in BLOCK.finditer(text):
        code, after = m.group(1), m.group(2)
        promised = []
        for sentence in re.findall(r"^prints (.*?)(?:\.\s|\.$|:\n)", after, re.S | re.M):
            promised += re.findall(r"`([^`]+)`", sentence)
        out.append((code, promised))
    return out


def localize(code, offset, password):
    def port(m):
        p = int(m.group(1))
        return "%s:%d" % (HOST, p + offset) if p in PORTS else m.group(0)
    code = re.sub(r"\blocalhost:(\d{4})\b", port, code)
    code, n = re.subn(r"^PASSWORD='[^'\n]*'$", "PASSWORD='%s'" % password, code, flags=re.M)
    return code, n


def test_tutorial_runs_as_written(srv):
    blocks = tutorial_blocks()
    assert len(blocks) >= 10, "the tutorial lost its shell blocks: %d" % len(blocks)
    assert blocks[0][0].strip() == "make run", blocks[0]
    script, replaced = ["set -euo pipefail"], 0
    for i, (code, _) in enumerate(blocks[1:], 1):
        code, n = localize(code, srv.offset, ADMIN_PASSWORD)
        replaced += n
        script += [code, "echo '%s'" % (MARK % i)]
    assert replaced == 1, "exactly one PASSWORD= line expected, found %d" % replaced
    r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    outputs = re.split(r"@@tutorial-block-\d+@@\n", r.stdout)
    assert r.returncode == 0, "the tutorial stopped in block %d (exit %d):\n%s\nstderr: %s" % (
        len(outputs), r.returncode, outputs[-1][-1500:], r.stderr[-1500:])
    assert len(outputs) == len(blocks), (len(outputs), len(blocks))
    for i, (code, promised) in enumerate(blocks[1:], 1):
        for p in promised:
            assert p in outputs[i - 1], "block %d:\n%s\nshould print %r but printed:\n%s" % (
                i, code, p, outputs[i - 1])
    # the instance really finished, and nothing was left out of the promises
    assert sum(len(p) for _, p in blocks) >= 6, [p for _, p in blocks]
    history = outputs[-3]
    assert "instance.completed" in history and "element.entered Activity_approve" in history, history
