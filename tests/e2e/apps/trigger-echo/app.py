"""A trigger's app: reports what it was given (the triggering object as input
file 1, the S3 event in CLOISTER_EVENT and IEXEC_IN/event.json, its argv) in
result.json, and writes public.txt, which its manifest marks public."""
import json
import os
import sys

OUT = os.environ["IEXEC_OUT"]
name = os.environ.get("IEXEC_INPUT_FILE_NAME_1")
data = open(f"/iexec_in/{name}").read() if name else None
event = json.loads(os.environ.get("CLOISTER_EVENT", "null"))
with open("/iexec_in/event.json") as f:
    event_file = json.load(f)
with open(f"{OUT}/result.json", "w") as f:
    json.dump({"input": data, "event": event, "same_event": event == event_file,
               "argv": sys.argv[1:]}, f)
with open(f"{OUT}/public.txt", "w") as f:
    f.write("hello world\n")
os.makedirs(f"{OUT}/sub", exist_ok=True)
with open(f"{OUT}/sub/n.txt", "w") as f:
    f.write("nested\n")
with open(f"{OUT}/computed.json", "w") as f:
    json.dump({"deterministic-output-path": f"{OUT}/result.json"}, f)
