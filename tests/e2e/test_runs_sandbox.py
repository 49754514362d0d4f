"""What an app cannot do inside a run's sandbox (docs/enclave.md): reach the
network (even the node's own listener), read the host's /root or Cloister's data
dir, see host processes, exceed its memory or process limit, outlive its
timeout, or leave a process behind. Each is tried by tests/e2e/apps/probe."""
import json
import os
import time

import pytest

from conftest import uniq
from test_runs import PROBE, cl, deploy, ok, probe_result, run


@pytest.fixture(scope="module")
def rsrv(make_server):
    return make_server("sandbox")


@pytest.fixture(scope="module")
def owner(rsrv):
    return rsrv.admin_creds()


def probe(rsrv, owner, manifest=None):
    name = uniq("probe")
    deploy(rsrv, owner, PROBE, name, "python3 /app/probe.py", manifest)
    return name


def test_no_network(rsrv, owner, tmp_path):
    app = probe(rsrv, owner, {"network": True})  # asked for, not allowed by the operator
    rc, s, out, err = run(rsrv, owner, app, "--arg", "network", "--arg", "127.0.0.1",
                          "--arg", str(rsrv.port))
    assert rc == 0, out + err
    r = probe_result(rsrv, owner, s["TaskId"], tmp_path)
    assert r["connect"] != "connected", r  # the node's own listener is not reachable
    assert r["dns"] != "resolved", r


def test_host_files_hidden(rsrv, owner, tmp_path):
    app = probe(rsrv, owner)
    secret_file = rsrv.data_dir / "meta.db"
    paths = ["/root/.bashrc", "/root", str(secret_file), str(rsrv.data_dir / "keys"),
             "/etc/shadow", "/etc/passwd", "/home", "/usr/bin/env"]
    rc, s, out, err = run(rsrv, owner, app, "--arg", "files", *sum([["--arg", p] for p in paths], []))
    assert rc == 0, out + err
    r = probe_result(rsrv, owner, s["TaskId"], tmp_path)
    for p in paths[:-1]:
        assert r[p] in ("FileNotFoundError", "PermissionError", "IsADirectoryError") and \
            r[p] != "read", (p, r)
    assert r["/root/.bashrc"] == "FileNotFoundError" and r[str(secret_file)] == "FileNotFoundError"
    assert r["/usr/bin/env"] == "read"  # the read-only host /usr is there, for node/python
    assert "root" not in r["listdir_root"] and "home" not in r["listdir_root"], r


def test_host_processes_invisible(rsrv, owner, tmp_path):
    app = probe(rsrv, owner)
    rc, s, out, err = run(rsrv, owner, app, "--arg", "processes")
    assert rc == 0, out + err
    r = probe_result(rsrv, owner, s["TaskId"], tmp_path)
    assert len(r["pids"]) <= 4, r  # bwrap's pid 1, the init, the app (and its own /proc read)
    assert rsrv.proc.pid not in r["pids"] or "serve" not in r["cmds"].get(str(rsrv.proc.pid), "")
    assert not any("serve" in c for c in r["cmds"].values()), r


def test_memory_limit(rsrv, owner, tmp_path):
    app = probe(rsrv, owner, {"memory_mb": 64})
    rc, s, out, err = run(rsrv, owner, app, "--arg", "memory", "--arg", "400")
    assert rc == 1 and "memory limit" in s["Error"], (out, err)


def test_pids_limit(rsrv, owner, tmp_path):
    app = probe(rsrv, owner, {"pids": 16})
    rc, s, out, err = run(rsrv, owner, app, "--arg", "pids", "--arg", "64")
    assert rc == 0, out + err
    r = probe_result(rsrv, owner, s["TaskId"], tmp_path)
    assert r["forked"] < 16 and r["error"] in ("BlockingIOError", "OSError"), r


def test_timeout_kills_the_tree(rsrv, owner, tmp_path):
    app = probe(rsrv, owner, {"timeout_seconds": 1})
    t0 = time.monotonic()
    rc, s, out, err = run(rsrv, owner, app, "--arg", "sleep", "--arg", "30")
    assert time.monotonic() - t0 < 15
    assert rc == 1 and "timeout" in s["Error"], (out, err)


def test_no_process_outlives_the_run(rsrv, owner, tmp_path):
    app = probe(rsrv, owner)
    rc, s, out, err = run(rsrv, owner, app, "--arg", "daemon", "--arg", "30")
    assert rc == 0, out + err
    time.sleep(0.3)
    left = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read()
            except OSError:
                continue
            if b"probe.py" in cmd and b"daemon" in cmd:
                left.append(p)
    assert not left, f"processes left behind by the run: {left}"


def test_network_when_allowed_by_operator(make_server, tmp_path):
    srv = make_server("sandbox-net", extra_args=["--allow-app-network"])
    owner = srv.admin_creds()
    app = uniq("probe")
    deploy(srv, owner, PROBE, app, "python3 /app/probe.py", {"network": True})
    rc, s, out, err = run(srv, owner, app, "--arg", "network", "--arg", "127.0.0.1",
                          "--arg", str(srv.port))
    assert rc == 0, out + err
    assert probe_result(srv, owner, s["TaskId"], tmp_path)["connect"] == "connected"
    # an app that does not ask still gets loopback only
    app2 = uniq("probe")
    deploy(srv, owner, PROBE, app2, "python3 /app/probe.py")
    rc, s, out, err = run(srv, owner, app2, "--arg", "network", "--arg", "127.0.0.1",
                          "--arg", str(srv.port))
    assert rc == 0 and probe_result(srv, owner, s["TaskId"], tmp_path)["connect"] != "connected"


def test_killed_node_runs_the_task_again(make_server, tmp_path):
    """kill -9 during a run: the task is durable. After the restart its lease
    expires, it is leased again (attempt 2) and completes once; the first run's
    scratch directory is gone."""
    srv = make_server("sandbox-kill", extra_args=["--task-lease-seconds", "2"])
    owner = srv.admin_creds()
    app = uniq("probe")
    deploy(srv, owner, PROBE, app, "python3 /app/probe.py", {"timeout_seconds": 60})
    p = ok(cl(srv, owner, "run", app, "--arg", "sleep", "--arg", "3"))
    task = json.loads(p.stdout)["TaskId"]
    for _ in range(100):
        if json.loads(ok(cl(srv, owner, "task", "show", task)).stdout)["State"] == "running":
            break
        time.sleep(0.05)
    scratch = srv.data_dir / "runs" / "local-1" / task
    assert scratch.is_dir()
    srv.kill()
    srv.start()
    doc = {}
    for _ in range(200):
        doc = json.loads(ok(cl(srv, owner, "task", "show", task)).stdout)
        if doc["State"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert doc["State"] == "done" and doc["Attempt"] == 2, json.dumps(doc)[-1500:]
    states = [s["State"] for s in doc["States"]]
    assert states.count("done") == 1 and states.count("leased") == 2, states
    assert any("lease expired" in s.get("Note", "") for s in doc["States"]), doc["States"]
    assert not scratch.exists()
