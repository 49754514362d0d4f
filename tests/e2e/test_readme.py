"""Issue 16: the README works verbatim.

Extracts README.md's shell blocks and runs them in order, in one bash session
(`set -e`), in a fresh directory, against a fresh server started as `make run`
starts it (`cloister serve`, data in ./var) but on a free port: the README's
commands reach it through CLOISTER_ENDPOINT, which they default to
http://127.0.0.1:9000 (and SIGNER_PORT for the signer's own listener).

The convention (stated in the README, section "Walkthroughs"): blocks fenced
```sh run; any other fence (```text, ```console, plain ```) does not; a ```sh
block right after the line `<!-- readme-test: skip -->` does not run either
(`make run`, `make test`: long-running or the whole suite). The directory has
`build` (the directory of $CLOISTER_BIN, so `./build/cloister` is the binary
under test, ASan or not) and `tests` (the repository's) as symlinks. A failing
command fails the test, which prints its block and the block's output."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AWS_V2, BIN, REPO, CloisterServer, _clean_env, free_port

SKIP = "<!-- readme-test: skip -->"
TIMEOUT = 600  # seconds for the whole README: generous, the machine may be shared
BLOCK = re.compile(r"^```([A-Za-z0-9_-]*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def readme_blocks(text):
    """[(line number, code)] of the ```sh blocks not marked skip, in order."""
    out = []
    for m in BLOCK.finditer(text):
        if m.group(1) != "sh":
            continue
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before == SKIP:
            continue
        out.append((text.count("\n", 0, m.start()) + 1, m.group(2)))
    return out


def test_blocks_are_found():
    blocks = readme_blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 8
    text = "\n".join(code for _, code in blocks)
    assert "<B>" not in text and "<A>" not in text
    assert "make run" not in text  # long-running: marked skip


def test_readme_runs_verbatim(tmp_path):
    readme = (REPO / "README.md").read_text()
    blocks = readme_blocks(readme)
    work = tmp_path / "work"
    work.mkdir()
    (work / "build").symlink_to(BIN.resolve().parent)
    (work / "tests").symlink_to(REPO / "tests")
    srv = CloisterServer(work / "var", tmp_path)
    srv.start()
    try:
        driver = ["set -e", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
        for i, (line, code) in enumerate(blocks):
            (work / f".readme-block-{i}.sh").write_text(code)
            driver += [f'echo "@@readme-block {i}"', "SECONDS=0", f". ./.readme-block-{i}.sh",
                       f'echo "@@readme-block-time {i} $SECONDS"']
        driver.append('echo "@@readme-done"')
        (work / ".readme.sh").write_text("\n".join(driver) + "\n")
        env = _clean_env()
        # `aws` is Debian's aws CLI v2 (2.9.19, which ignores AWS_ENDPOINT_URL): the
        # README must work with it
        awsdir = tmp_path / "aws-bin"
        awsdir.mkdir()
        (awsdir / "aws").symlink_to(AWS_V2)
        env["PATH"] = f"{awsdir}{os.pathsep}{env.get('PATH', '')}"
        env.update({"HOME": str(work), "CLOISTER_ENDPOINT": srv.endpoint,
                    "SIGNER_PORT": str(free_port()), "AWS_PAGER": "",
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"})
        t0 = time.monotonic()
        log = tmp_path / "readme.out"
        with open(log, "w") as f:
            p = subprocess.Popen(["bash", ".readme.sh"], cwd=work, env=env, stdout=f,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            try:
                rc = p.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                rc = f"timeout after {TIMEOUT} s"
                p.wait()
        took = time.monotonic() - t0
        out = log.read_text(errors="replace")
        if rc != 0 or "@@readme-done" not in out:
            marks = re.findall(r"^@@readme-block (\d+)$", out, re.M)
            i = int(marks[-1]) if marks else 0
            line, code = blocks[i]
            tail = out.split(f"@@readme-block {i}\n", 1)[-1]
            pytest.fail(f"README.md block at line {line} failed (exit {rc}):\n"
                        f"{code}\n--- its output ---\n{tail[-6000:]}\n"
                        f"--- server stderr ---\n{srv.stderr_tail(3000)}")
        times = re.findall(r"^@@readme-block-time (\d+) (\d+)$", out, re.M)
        print(f"README: {len(blocks)} blocks in {took:.1f} s; per block (line: s): " +
              ", ".join(f"{blocks[int(i)][0]}: {t}" for i, t in times))
    finally:
        rc = srv.stop()
    assert rc == 0, f"cloister serve exit code on SIGTERM: {rc}\n{srv.stderr_tail()}"
