"""A hostile app: argv[1] names what to try; the outcome goes to result.json
(and computed.json names it), so the test reads what the sandbox allowed."""
import json
import os
import socket
import sys
import time

OUT = os.environ.get("IEXEC_OUT", "/iexec_out")


def done(report):
    with open(f"{OUT}/result.json", "w") as f:
        json.dump(report, f)
    with open(f"{OUT}/computed.json", "w") as f:
        json.dump({"deterministic-output-path": f"{OUT}/result.json"}, f)


def try_read(path):
    try:
        with open(path, "rb") as f:
            f.read(16)
        return "read"
    except OSError as e:
        return type(e).__name__


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "env"
    if what == "env":
        print(json.dumps(dict(os.environ), sort_keys=True))  # what a spy would print
        names = sorted(os.listdir("/iexec_in")) if os.path.isdir("/iexec_in") else []
        inputs = {n: open(f"/iexec_in/{n}", "rb").read().decode(errors="replace") for n in names}
        done({"env": dict(os.environ), "argv": sys.argv[1:], "inputs": inputs})
    elif what == "files":
        paths = sys.argv[2:]
        done({p: try_read(p) for p in paths} | {"listdir_root": sorted(os.listdir("/"))})
    elif what == "network":
        host, port = sys.argv[2], int(sys.argv[3])
        try:
            socket.create_connection((host, port), timeout=2).close()
            r = "connected"
        except OSError as e:
            r = type(e).__name__
        try:
            socket.getaddrinfo("example.com", 80)
            dns = "resolved"
        except OSError as e:
            dns = type(e).__name__
        done({"connect": r, "dns": dns})
    elif what == "processes":
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        cmds = {}
        for p in pids:
            try:
                cmds[p] = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                pass
        done({"pids": pids, "cmds": cmds})
    elif what == "memory":
        hog = []
        for _ in range(int(sys.argv[2])):
            hog.append(bytearray(1 << 20))
        done({"allocated_mb": len(hog)})
    elif what == "pids":
        kids, err = 0, None
        for _ in range(int(sys.argv[2])):
            try:
                if os.fork() == 0:
                    time.sleep(5)
                    os._exit(0)
                kids += 1
            except OSError as e:
                err = type(e).__name__
                break
        done({"forked": kids, "error": err})
    elif what == "sleep":
        time.sleep(float(sys.argv[2]))
        done({"slept": True})
    elif what == "daemon":  # leaves a child behind that outlives the app
        if os.fork() == 0:
            os.setsid()
            time.sleep(float(sys.argv[2]))
            os._exit(0)
        done({"daemon": True})
    elif what == "computed":
        mode = sys.argv[2]
        with open(f"{OUT}/result.txt", "w") as f:
            f.write("r")
        if mode == "missing":
            return
        text = {"malformed": "{not json",
                "outside": json.dumps({"deterministic-output-path": "/etc/hostname"}),
                "dotdot": json.dumps({"deterministic-output-path": f"{OUT}/../etc/hostname"}),
                "symlink": json.dumps({"deterministic-output-path": f"{OUT}/link"}),
                "nopath": json.dumps({"something": 1})}[mode]
        if mode == "symlink":
            os.symlink("/etc/hostname", f"{OUT}/link")
        with open(f"{OUT}/computed.json", "w") as f:
            f.write(text)
    elif what == "attest":  # the init's attestation channel, raw
        import base64
        import subprocess
        fd = int(os.environ["CLOISTER_ATTESTATION_FD"])
        s = socket.socket(fileno=fd)

        def recvall(n):
            b = b""
            while len(b) < n:
                c = s.recv(n - len(b))
                if not c:
                    raise EOFError
                b += c
            return b

        def ask(obj):
            data = json.dumps(obj).encode()
            s.sendall(len(data).to_bytes(4, "big") + data)
            return json.loads(recvall(int.from_bytes(recvall(4), "big")))

        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", "/tmp/ec.pem"], check=True)
        der = subprocess.run(["openssl", "pkey", "-in", "/tmp/ec.pem", "-pubout", "-outform",
                              "DER"], check=True, capture_output=True).stdout
        key = base64.b64encode(der).decode()
        answers = [ask({"public_key": "AAAA"}),
                   ask({"public_key": key, "user_data": base64.b64encode(b"x" * 2000).decode()})]
        answers += [ask({"public_key": key, "user_data": "dXNlcg=="}) for _ in range(16)]
        kinds = ["document" if "document" in a else "error: " + a["error"] for a in answers]
        with open(f"{OUT}/doc.cbor", "wb") as f:
            f.write(base64.b64decode(answers[2]["document"]))
        done({"kinds": kinds})
    elif what == "exit":
        done({})
        sys.exit(int(sys.argv[2]))


main()
