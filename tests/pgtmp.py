#!/usr/bin/env python3
"""pgtmp.py — a throwaway PostgreSQL cluster for the tests, from Debian's
`postgresql` package: initdb + pg_ctl in a temporary directory, listening on
127.0.0.1 on a free port (and a Unix socket in the directory), trust
authentication, fsync off (the tests kill Cloister nodes, never the cluster
uncleanly, so its own durability is not what they test). As root it runs as
the unprivileged `postgres` user (PostgreSQL refuses to run as root).

Library:  c = PgCluster(); c.start(); url = c.create_db("x"); c.stop(); c.start(); c.destroy()
Command:  python3 tests/pgtmp.py start DIR   -> prints a postgres:// URL (database "cloister")
          python3 tests/pgtmp.py stop DIR | destroy DIR | createdb DIR NAME
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def _bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL is not installed (Debian package postgresql; make deps)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self, root=None):
        self.bin = _bindir()
        self.root = root or tempfile.mkdtemp(prefix="cl-pg-")
        self.data = os.path.join(self.root, "data")
        self.port_file = os.path.join(self.root, "port")
        self.port = int(open(self.port_file).read()) if os.path.exists(self.port_file) else None
        self.as_user = os.geteuid() == 0

    def _run(self, args, check=True, **kw):
        cmd = [os.path.join(self.bin, args[0])] + list(args[1:])
        if self.as_user:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)

    def _init(self):
        os.makedirs(self.root, exist_ok=True)
        if self.as_user:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")
        self._run(["initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-instructions"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 300\nshared_buffers = 64MB\n"
                    f"unix_socket_directories = '{self.root}'\nlisten_addresses = '127.0.0.1'\n")

    def start(self):
        if not os.path.exists(self.data):
            self._init()
        if self.port is None:
            self.port = _free_port()
            with open(self.port_file, "w") as f:
                f.write(str(self.port))
        self._run(["pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-t", "60",
                   "-o", f"-p {self.port}", "start"])
        return self

    def stop(self, mode="fast"):
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"], check=False)

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres"):
        r = self._run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                       "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql])
        return r.stdout.strip()

    def create_db(self, name):
        """A fresh, empty database; returns its URL."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return self.url(name)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    c = PgCluster(os.path.abspath(argv[2]))
    if argv[1] == "start":
        c.start()
        for _ in range(50):
            try:
                print(c.create_db("cloister"))
                return 0
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        return 1
    if argv[1] == "stop":
        c.stop()
    elif argv[1] == "destroy":
        c.destroy()
    elif argv[1] == "createdb" and len(argv) == 4:
        print(c.create_db(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
