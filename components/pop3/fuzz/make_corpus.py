#!/usr/bin/env python3
"""Seed corpus for fuzz_pop3 from the test transcripts: [config byte][split byte][server bytes]."""
import os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "tests", "data")
out = os.path.join(here, "corpus")
AUTH = ["AUTO", "USER", "APOP", "PLAIN", "XOAUTH2", "OAUTHBEARER"]
SEC = ["TLS", "STARTTLS", "NONE"]

def unesc(s):
    s = re.sub(r"\\R(\d+):(.)", lambda m: m.group(2) * int(m.group(1)), s)
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")

for name in sorted(os.listdir(data)):
    if not name.endswith(".txt"):
        continue
    auth, sec, srv = 0, 2, b""
    for ln in open(os.path.join(data, name), encoding="latin-1").read().split("\n"):
        if ln.startswith("@auth "):
            auth = AUTH.index(ln[6:])
        elif ln.startswith("@security "):
            sec = SEC.index(ln[10:])
        elif ln[:3] in ("S: ", "X: "):
            srv += unesc(ln[3:]) + (b"\r\n" if ln[0] == "S" else b"")
        elif ln.startswith("S~ "):
            srv += unesc(ln[3:])
        elif ln.startswith("L: "):
            srv += unesc(ln[3:]) + b"\n"
    for split in (0x00, 0x01, 0x07):
        with open(os.path.join(out, "%s.%02x" % (name[:-4], split)), "wb") as f:
            f.write(bytes([auth + 6 * sec, split]) + srv)
