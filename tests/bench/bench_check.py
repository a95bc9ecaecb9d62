#!/usr/bin/env python3
"""Benchmark: one IMAPS and one POP3S check against the Dovecot and the Cyrus fixture, tinybiff
(default mechanism, and IMAP LOGIN) next to curl.

Both clients go through the same counting TCP proxy on loopback, so bytes and round trips are
measured identically: a round trip is the TCP handshake plus every time the server speaks after
the client did. Prints, per client and check: round trips, bytes sent and received, wall and CPU
time (median of --runs), and tinybiff's peak mbedTLS heap (its counting allocator).

usage: tests/bench/bench_check.py [--bin build/host/bin/tinybiff] [--runs 5] [--server dovecot|cyrus]
"""
import argparse
import json
import os
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
from mailfix import MailFixture  # noqa: E402
from cyrusfix import CyrusFixture  # noqa: E402


class CountingProxy:
    """127.0.0.1:port -> target; records per connection bytes each way and server turns."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.conns = []
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        self.ls.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.pipe, args=(c,), daemon=True).start()

    def pipe(self, client):
        stats = {"sent": 0, "received": 0, "turns": 0}
        self.conns.append(stats)
        server = socket.create_connection(self.target)
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, (client, server, "sent"))
        sel.register(server, selectors.EVENT_READ, (server, client, "received"))
        last = None
        open_ = 2
        while open_ == 2:
            for key, _ in sel.select(timeout=30):
                src, dst, kind = key.data
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    open_ -= 1
                    break
                stats[kind] += len(data)
                if kind == "received" and last == "sent":
                    stats["turns"] += 1
                last = kind
                dst.sendall(data)
        client.close()
        server.close()

    def close(self):
        self.stop = True
        self.ls.close()


def timed(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r, wall, cpu


def measure(name, cmd, env, proxy, runs, parse=None):
    walls, cpus, extra = [], [], {}
    for _ in range(runs):
        proxy.conns.clear()
        r, wall, cpu = timed(cmd, env)
        if r.returncode != 0:
            raise SystemExit(f"{name} failed: {r.stdout} {r.stderr}")
        time.sleep(0.05)  # let the proxy thread account the last bytes
        walls.append(wall)
        cpus.append(cpu)
        if parse:
            extra = parse(r.stdout)
    conns = list(proxy.conns)
    return {"name": name, "wall_ms": statistics.median(walls) * 1000, "cpu_ms": statistics.median(cpus) * 1000,
            "conns": conns, **extra}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "host", "bin", "tinybiff"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--server", choices=("dovecot", "cyrus"), action="append",
                    help="default: both")
    a = ap.parse_args()
    curl = shutil.which("curl")
    work = tempfile.mkdtemp(prefix="tinybiff-bench-")
    os.chmod(work, 0o755)  # Dovecot's mail user must reach the fixture's Maildirs
    rows = []
    with MailFixture(dir=os.path.join(work, "fx"), users=1, messages=20, unseen=4) as dovecot:
        for server in a.server or ("dovecot", "cyrus"):
            if server == "dovecot":
                bench_server(a, curl, dovecot, "", rows)
            else:
                with CyrusFixture(os.path.join(work, "cyrus"), users=1, messages=20, unseen=4,
                                  folders=["INBOX"], pki_root=dovecot.dir) as cyrus:
                    bench_server(a, curl, cyrus, " (Cyrus)", rows)
    shutil.rmtree(work, ignore_errors=True)
    report(rows)


def bench_server(a, curl, fx, label, rows):
    pw = fx.users["user1"]
    env = dict(os.environ, TINYBIFF_PASSWORD=pw)
    for proto, port in (("imaps", fx.ports["imaps"]), ("pop3s", fx.ports["pop3s"])):
        proxy = CountingProxy(port)
        url = f"{proto}://user1@localhost:{proxy.port}" + ("/INBOX" if proto == "imaps" else "")

        def heap(out):
            lines = [json.loads(x) for x in out.splitlines()]
            return {"heap": [x.get("tls_heap_peak") for x in lines],
                    "resumed": [x.get("tls_resumed") for x in lines]}
        rows.append(measure(f"tinybiff {proto}{label}", [a.bin, "check", "--stats", "--ca", fx.ca, url], env,
                            proxy, a.runs, heap))
        if proto == "imaps":  # LOGIN keeps the one flight (AUTHENTICATE waits for its OK)
            login = url.replace("user1@", "user1;AUTH=LOGIN@")
            rows.append(measure(f"tinybiff {proto} LOGIN{label}", [a.bin, "check", "--stats", "--ca", fx.ca, login],
                                env, proxy, a.runs, heap))
        # Same account twice in one run: the second check resumes the TLS session.
        two = measure(f"tinybiff {proto} x2{label}", [a.bin, "check", "--stats", "--ca", fx.ca, url, url], env,
                      proxy, 1, heap)
        rows.append(two)
        if curl:
            if proto == "imaps":
                ccmd = [curl, "-s", "--cacert", fx.ca, "-u", f"user1:{pw}", f"{url}/", "-X", "STATUS INBOX (UNSEEN)"]
            else:
                ccmd = [curl, "-s", "--cacert", fx.ca, "-u", f"user1:{pw}", f"{url}/", "-X", "UIDL"]
            rows.append(measure(f"curl {proto}{label}", ccmd, os.environ, proxy, a.runs))
        proxy.close()


def report(rows):
    print(f"{'client / check':<30} {'conn':>4} {'round trips':>11} {'sent B':>8} {'recv B':>8} "
          f"{'wall ms':>8} {'cpu ms':>7} {'TLS heap peak B':>16} resumed")
    for r in rows:
        for i, c in enumerate(r["conns"]):
            heap = r.get("heap", [None] * 2)
            res = r.get("resumed", [None] * 2)
            h = heap[i] if i < len(heap) and heap[i] is not None else "n/a"
            rs = res[i] if i < len(res) and res[i] is not None else "n/a"
            print(f"{r['name']:<30} {i + 1:>4} {1 + c['turns']:>11} {c['sent']:>8} {c['received']:>8} "
                  f"{r['wall_ms']:>8.1f} {r['cpu_ms']:>7.1f} {h:>16} {rs}")
    print("round trips = TCP handshake + each server turn; wall/CPU = median per run (whole process, "
          "all its connections); curl's heap is not instrumented.")


if __name__ == "__main__":
    main()
