"""A trivial app for tests/e2e/test_worker.py: copies every input file to
/iexec_out, records its arguments in args.json (so each task's result differs)
and names /iexec_out as the deterministic output. `sleep S` first sleeps S
seconds (a task to kill a worker in the middle of)."""
import json
import os
import shutil
import sys
import time

IN = os.environ.get("IEXEC_IN", "/iexec_in")
OUT = os.environ.get("IEXEC_OUT", "/iexec_out")

args = sys.argv[1:]
if args[:1] == ["sleep"]:
    time.sleep(float(args[1]))
    args = args[2:]
for name in sorted(os.listdir(IN)) if os.path.isdir(IN) else []:
    if os.path.isfile(f"{IN}/{name}"):
        shutil.copyfile(f"{IN}/{name}", f"{OUT}/{name}")
with open(f"{OUT}/args.json", "w") as f:
    json.dump(args, f)
with open(f"{OUT}/computed.json", "w") as f:
    json.dump({"deterministic-output-path": OUT}, f)
print("copied", len(os.listdir(OUT)) - 2, "inputs")
