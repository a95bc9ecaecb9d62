#!/usr/bin/env python3
"""Seed corpus for fuzz_imap from the replay transcripts: 4 config bytes + the server bytes."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
OUT = os.path.join(HERE, "corpus")
AUTH = {"auto": 0, "plain": 1, "login": 2, "xoauth2": 3, "oauthbearer": 4}
SEC = {"tls": 0, "starttls": 1, "none": 2}


def unesc(s):
    return re.sub(rb"\\\\|\\x([0-9a-fA-F]{2})",
                  lambda m: b"\\" if m.group(0) == b"\\\\" else bytes([int(m.group(1), 16)]), s)


os.makedirs(OUT, exist_ok=True)
for name in sorted(os.listdir(DATA)):
    if not name.endswith(".txt"):
        continue
    cfg, stream = {}, b""
    for line in open(os.path.join(DATA, name), "rb").read().split(b"\n"):
        if line.startswith(b"@"):
            for kv in line[1:].split(b" "):
                if b"=" in kv:
                    k, v = kv.split(b"=", 1)
                    cfg[k.decode()] = v.decode(errors="replace")
        elif line.startswith(b"S: ") or line == b"S:":
            stream += unesc(line[3:]) + b"\r\n"
        elif line.startswith(b"S= "):
            stream += unesc(line[3:])
        elif line.startswith(b"S* "):
            n, c = line[3:].split(b" ", 1)
            stream += c[:1] * min(int(n), 4096)
    nf = min(4, cfg.get("folders", "INBOX").count(",") + 1)
    b0 = AUTH[cfg.get("auth", "auto")] | SEC[cfg.get("security", "tls")] << 3
    b0 |= int(cfg.get("idle", "0")) << 5 | (nf - 1) << 6
    for split in (0, 7):
        with open(os.path.join(OUT, "%s-%d" % (name[:-4], split)), "wb") as f:
            f.write(bytes([b0, 112, split, 240]) + stream)
