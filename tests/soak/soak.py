#!/usr/bin/env python3
"""Soak: the daemon (`tinybiff run`, the ASan build when BIFF_BIN points at it) watches 12 accounts
on a real Dovecot (4 IMAP IDLE, 4 IMAP polling every 3 s, 4 POP3 every 3 s) plus 2 accounts on
hostile servers, while a seeded RNG delivers mail to random accounts and injects faults:

  reset    a TCP proxy in front of Dovecot (every good account goes through it) resets live
           connections (RST both ways)
  stall    the proxy stops forwarding one connection for 3-35 s (longer than the daemon's 30 s
           check timeout sometimes)
  slow     the proxy delays every chunk of one port by 0.3-1.5 s for 5-15 s (slow replies)
  restart  Dovecot is restarted (same ports)
  powercut the daemon is killed with SIGKILL and started again on the same state file

Ground truth. The soak counts deliveries per account since the last acknowledgement that surely
landed (`pending`). An acknowledgement (POST /ack with the page's CSRF token) is only made in a
quiet window: deliveries and faults paused, proxy healed, and every good account caught up
(its "new" equals `pending`); then "new" must drop to 0 everywhere and `pending` becomes 0.
If the account never catches up within the window, no acknowledgement is made this time.
Power cut around an acknowledgement (as tests/integration/test_state_powercut.py does): in some
windows the daemon is SIGKILLed 0-40 ms after the POST, before or while it writes the state.
After the restart every good account must show new == 0 (its acknowledgement landed: pending
becomes 0) or new == pending (it did not: pending stays); anything else is counted as missed
(new < pending) or duplicated (new > pending).

At the end (faults and deliveries stop, proxy healed): every good account must settle at
new == pending (mail missed = sum of pending - new where below, duplicates = sum of new - pending
where above; both must be 0). Accounts still in error backoff after the quiet period are
settled by a clean daemon restart (backoff is in RAM) and then compared; this is said in the
output. The hostile accounts must be in error. The daemon's open file descriptors at the end
must not exceed those at the start of its steady state by more than the number of IDLE
accounts (sessions that may be open), and SIGTERM must end it with status 0 and no sanitizer
report in its log (LeakSanitizer runs at exit in the ASan build).

"checks" in the summary = the daemon's "account X: checking" debug lines (it runs with -v):
every check started, including failed ones, over all daemon processes; IDLE rechecks on the
same session are not counted.

    python3 tests/soak/soak.py [--minutes 2] [--seed N]
Prints `soak: checks N, faults injected N, deliveries N, mail missed N, duplicates N`.
"""
import argparse
import collections
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
from mailfix import MailFixture, _pdeathsig_preexec  # noqa: E402
from daemonfix import Daemon, BIN  # noqa: E402
from hostile import HostileServer  # noqa: E402
import responders as R  # noqa: E402

WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer")
N_IDLE = 4


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ fault-injecting TCP proxy

class Conn:
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.kill = False
        self.stall_until = 0.0


class FaultProxy:
    """127.0.0.1:port -> 127.0.0.1:target. One thread per connection pumps both ways with
    select(), so faults (reset, stall, slow) apply between chunks."""

    def __init__(self, name, target):
        self.name, self.target = name, target
        self.conns = []
        self.slow_until, self.slow_delay = 0.0, 0.0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                a, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:  # Dovecot is restarting: the client sees a reset
                rst_close(a)
                continue
            c = Conn(a, b)
            with self.lock:
                self.conns.append(c)
            t = threading.Thread(target=self._pump, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _pump(self, c):
        peer = {c.a: c.b, c.b: c.a}
        try:
            while not c.kill and not self.stop.is_set():
                if time.monotonic() < c.stall_until:
                    time.sleep(0.05)
                    continue
                r, _, _ = select.select([c.a, c.b], [], [], 0.1)
                for s in r:
                    data = s.recv(16384)
                    if not data:
                        raise EOFError
                    if time.monotonic() < self.slow_until:
                        time.sleep(self.slow_delay)
                    peer[s].sendall(data)
        except (EOFError, OSError):
            pass
        finally:
            if c.kill or self.stop.is_set():
                rst_close(c.a)
                rst_close(c.b)
            else:
                for s in (c.a, c.b):
                    try:
                        s.close()
                    except OSError:
                        pass
            with self.lock:
                if c in self.conns:
                    self.conns.remove(c)

    def live(self):
        with self.lock:
            return list(self.conns)

    def reset(self, rng, k):
        live = self.live()
        for c in rng.sample(live, min(k, len(live))):
            c.kill = True
        return min(k, len(live))

    def stall(self, rng, secs):
        live = self.live()
        if not live:
            return 0
        rng.choice(live).stall_until = time.monotonic() + secs
        return 1

    def slow(self, secs, delay):
        self.slow_delay = delay
        self.slow_until = time.monotonic() + secs

    def heal(self):
        self.slow_until = 0.0
        for c in self.live():
            c.stall_until = 0.0

    def close(self):
        self.stop.set()
        self.ls.close()
        for c in self.live():
            c.kill = True
        for t in self.threads:
            t.join(5)


def rst_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    except OSError:
        pass


# ------------------------------------------------------------------ daemon helpers

class SoakDaemon(Daemon):
    def start(self, env=None):
        """As Daemon.start, with -v (the "checking" debug lines are counted)."""
        self.proc = None
        self.logf = open(self.log, "a")
        # Dies with the soak even when the soak itself is killed (ctest timeout).
        self.proc = subprocess.Popen([BIN, "run", "-v", "-c", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})),
                                     preexec_fn=_pdeathsig_preexec(os.getpid(), signal.SIGKILL))
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                self.status()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("daemon exited: " + self.read_log()[-3000:])
                time.sleep(0.05)
        raise RuntimeError("status page never came up")

    def power_cut(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def ack(self):
        page = urllib.request.urlopen(self.url("/"), timeout=5).read().decode()
        token = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
        req = urllib.request.Request(self.url("/ack"), data=f"csrf={token}".encode(), method="POST",
                                     headers={"Origin": f"http://127.0.0.1:{self.port}"})
        urllib.request.urlopen(req, timeout=5).read()

    def fds(self):
        links = []
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                links.append(os.readlink(f"/proc/{self.proc.pid}/fd/{fd}"))
            except OSError:
                pass
        return len(links), sum(1 for x in links if x.startswith("socket:"))

    def checks(self):
        return len(re.findall(r"account \S+: checking", self.read_log()))


def by_name(st):
    return {a["name"]: a for a in st["accounts"]}


# ------------------------------------------------------------------ the soak

class Soak:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.faults = collections.Counter()
        self.deliveries = 0
        self.missed = 0
        self.dups = 0
        self.problems = []
        self.acks = self.acks_cut = 0
        self.deck = []

    def run(self):
        a = self.a
        end_chaos = time.monotonic() + max(20.0, a.minutes * 60 - 45)
        fxdir = os.path.join(WORK, "soak")
        with MailFixture(dir=fxdir, users=12, messages=3, unseen=1, idle_interval=1) as fx:
            self.fx = fx
            proxies = {p: FaultProxy(p, fx.ports[p]) for p in ("imaps", "imap", "pop3s")}
            self.proxies = proxies
            bad_imap = HostileServer(lambda peer: R.imap_session(
                peer, on={b"STATUS": lambda p, tag, line: p.send(b"* STATUS INBOX (MESSAGES x)\r\n" + tag
                                                                 + b" OK\r\n") or True}))
            bad_pop = HostileServer(lambda peer: peer.send_slowly(b"+OK " + b"s" * 100 + b"\r\n", 1.0))
            self.d = None
            self.checks = 0
            try:
                with bad_imap, bad_pop:
                    self._run(fx, proxies, bad_imap, bad_pop, end_chaos)
            except Exception as e:  # noqa: BLE001 - reported, and everything is still stopped
                import traceback
                self.problems.append(f"soak aborted: {type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
                if self.d:
                    self.checks = self.d.checks()
                    log("daemon log tail:\n" + self.d.read_log()[-2000:])
            finally:
                if self.d and self.d.proc and self.d.proc.poll() is None:
                    self.d.proc.kill()
                    self.d.proc.wait()
                for p in proxies.values():
                    p.close()
        log(f"faults: {dict(self.faults)}; acknowledgements {self.acks} ({self.acks_cut} cut by a power cut)")
        checks = self.checks
        nfaults = sum(self.faults.values())
        print(f"soak: checks {checks}, faults injected {nfaults}, deliveries {self.deliveries}, "
              f"mail missed {self.missed}, duplicates {self.dups}", flush=True)
        for p in self.problems:
            print("soak: PROBLEM: " + p)
        return 0 if not self.problems and self.missed == 0 and self.dups == 0 else 1

    def wait_hostile_decided(self, seconds):
        """The status once no hostile account is in its first check. After a late power cut the
        restarted daemon's first check of the one-byte-a-second server is still running (up to
        the agent's 30 s check timeout) and has no error yet: that is not the account working."""
        end = time.monotonic() + seconds
        while True:
            st = self.status()
            busy = [n for n in ("bad_imap", "bad_pop") if st[n]["state"] == "checking" and not st[n]["error"]]
            if not busy or time.monotonic() >= end:
                return st
            time.sleep(0.5)

    def _run(self, fx, proxies, bad_imap, bad_pop, end_chaos):
        users = sorted(fx.users, key=lambda u: int(u[4:]))
        accounts, self.user_of = [], {}
        for i in range(4):
            accounts.append((f"idle{i}", f"imaps://{users[i]}@localhost:{proxies['imaps'].port}/INBOX", {"idle": "1"}))
        for i in range(4):
            if i % 2:  # STARTTLS through the plain-IMAP proxy
                url = f"imap://{users[4 + i]}@localhost:{proxies['imap'].port}/INBOX"
            else:
                url = f"imaps://{users[4 + i]}@localhost:{proxies['imaps'].port}/INBOX"
            accounts.append((f"poll{i}", url, {"idle": "0", "interval": "3"}))
        for i in range(4):
            accounts.append((f"pop{i}", f"pop3s://{users[8 + i]}@localhost:{proxies['pop3s'].port}", {"interval": "3"}))
        for name, url, _ in accounts:
            self.user_of[name] = url.split("://", 1)[1].split("@", 1)[0]
        self.good = [n for n, _, _ in accounts]
        accounts.append(("bad_imap", f"imap://victim@localhost:{bad_imap.port}/INBOX", {"security": "none", "idle": "0"}))
        accounts.append(("bad_pop", f"pop3://victim@localhost:{bad_pop.port}", {"security": "none"}))
        secrets = {n: fx.users[u] for n, u in self.user_of.items()}
        secrets.update(bad_imap="soak-hostile-secret", bad_pop="soak-hostile-secret")
        ddir = os.path.join(fx.dir, "daemon")
        for f in ("state.img", "daemon.log"):
            if os.path.exists(os.path.join(ddir, f)):
                os.unlink(os.path.join(ddir, f))
        d = self.d = SoakDaemon(ddir, fx, accounts, secrets=secrets)
        self.pending = {n: 0 for n in self.good}
        d.start()
        # Baseline: the first check of each account sets it; mail only after that.
        self.wait(lambda st: all(st[n]["state"] == "ok" for n in self.good), 30, "first checks")
        time.sleep(1.0)
        self.fd_first = d.fds()
        log(f"steady state: pid {d.proc.pid}, fds {self.fd_first[0]} ({self.fd_first[1]} sockets); "
            f"chaos for {end_chaos - time.monotonic():.0f} s, seed {self.a.seed}")
        chaos_len = end_chaos - time.monotonic()
        next_fault = time.monotonic() + self.rng.uniform(1, 4)
        next_ack = time.monotonic() + self.rng.uniform(12, 20)
        while time.monotonic() < end_chaos:
            now = time.monotonic()
            if now >= next_ack:
                self.ack_window(late=(end_chaos - now) < 0.4 * chaos_len)
                next_ack = time.monotonic() + self.rng.uniform(15, 25)
            elif now >= next_fault:
                self.fault(late=(end_chaos - now) < 0.4 * chaos_len)
                next_fault = time.monotonic() + self.rng.uniform(1, 3)
            else:
                self.deliver()
                time.sleep(self.rng.uniform(0.2, 1.0))

        for _ in range(self.a.break_uncounted):  # self-test: the soak must then report duplicates
            self.fx.deliver(self.user_of[self.good[0]], subject="uncounted")
        # Quiet period: no faults, no mail; every good account must settle.
        log("chaos over: quiet period")
        for p in proxies.values():
            p.heal()
        settled = self.settle(45)
        st = self.wait_hostile_decided(40)
        for n in ("bad_imap", "bad_pop"):
            if st[n]["state"] == "ok" or not st[n]["error"]:
                self.problems.append(f"hostile account {n} is {st[n]['state']!r} (error {st[n]['error']}), "
                                     f"not failing")
        fd_end = d.fds()
        # Same config, same baseline: the first daemon's steady state is the reference even if
        # power cuts replaced the process since.
        log(f"fds at the end: {fd_end[0]} ({fd_end[1]} sockets), at the start {self.fd_first[0]} "
            f"({self.fd_first[1]} sockets)")
        self.fd_end = fd_end
        if fd_end[0] > self.fd_first[0] + N_IDLE:
            self.problems.append(f"file descriptors grew: {self.fd_first[0]} at the start, {fd_end[0]} at the end")
        if not settled:
            late = [n for n in self.good if st[n]["new"] != self.pending[n]]
            log(f"not settled after the quiet period (error backoff?): "
                + ", ".join(f"{n} {st[n]['state']} new {st[n]['new']} want {self.pending[n]}" for n in late)
                + "; clean restart to settle them")
        self.stop_daemon()
        if not settled:
            d.start()
            if not self.settle(30):
                st = self.status()
                for n in self.good:
                    diff = st[n]["new"] - self.pending[n]
                    if diff:
                        self.problems.append(f"{n}: new {st[n]['new']}, {self.pending[n]} delivered since the "
                                             f"last acknowledgement ({st[n]['state']} {st[n]['error']})")
                    self.missed += max(0, -diff)
                    self.dups += max(0, diff)
            self.stop_daemon()
        self.checks = d.checks()
        leaked = [x for x in (d.read_log(),) if "soak-hostile-secret" in x or any(fx.users[u] in x for u in fx.users)]
        if leaked:
            self.problems.append("a secret appears in the daemon log")

    # ---- pieces

    def status(self):
        return by_name(self.d.status())

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        st = None
        while time.monotonic() < end:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}: "
                             + ", ".join(f"{n}={a['state']}/{a['new']}" for n, a in (st or {}).items()))

    def settle(self, timeout):
        """Wait until every good account shows new == pending and is ok; True if so."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.status()
            if all(st[n]["new"] == self.pending[n] and st[n]["state"] == "ok" for n in self.good):
                return True
            time.sleep(0.3)
        return False

    def deliver(self):
        n = self.rng.choice(self.good)
        self.fx.deliver(self.user_of[n], subject=f"soak {self.deliveries}")
        self.pending[n] += 1
        self.deliveries += 1

    def fault(self, late):
        # Drawn from a shuffled deck, so every kind comes up in every ~11 faults.
        if not self.deck:
            self.deck = ["reset"] * 4 + ["stall"] * 2 + ["slow"] * 2 + ["restart"] * 2 + ["powercut"]
            self.rng.shuffle(self.deck)
        k = self.deck.pop()
        if k == "powercut" and late:
            k = "reset"
        p = self.proxies[self.rng.choice(sorted(self.proxies))]
        if k == "reset":
            if not p.reset(self.rng, self.rng.randint(1, 3)):
                return
        elif k == "stall":
            if not p.stall(self.rng, self.rng.uniform(3, 35)):
                return
        elif k == "slow":
            p.slow(self.rng.uniform(5, 15), self.rng.uniform(0.3, 1.5))
        elif k == "restart":
            self.fx.restart()
        elif k == "powercut":
            self.d.power_cut()
            time.sleep(self.rng.uniform(0, 2))  # mail may arrive while it is off
            self.d.start()
        self.faults[k] += 1

    def ack_window(self, late):
        for p in self.proxies.values():
            p.heal()
        if not self.settle(15):
            st = self.status()
            log("ack window: not every account caught up, no acknowledgement this time: "
                + ", ".join(f"{n} {st[n]['state']} new {st[n]['new']}/{self.pending[n]} next in "
                            f"{st[n]['next_check'] - int(time.time())} s" for n in self.good
                            if st[n]["new"] != self.pending[n] or st[n]["state"] != "ok"))
            return
        cut = not late and (self.acks == 0 or self.rng.random() < 0.4)
        self.d.ack()
        self.acks += 1
        if not cut:
            self.wait(lambda st: all(st[n]["new"] == 0 for n in self.good), 5, "acknowledgement")
            self.pending = {n: 0 for n in self.good}
            return
        # Power cut around the acknowledgement: before, during or after its state writes.
        time.sleep(self.rng.uniform(0, 0.04))
        self.d.power_cut()
        self.acks_cut += 1
        self.faults["powercut"] += 1
        self.d.start()
        t0 = time.time()
        try:
            st = self.wait(lambda s: all(s[n]["state"] == "ok" and s[n]["last_check"] >= int(t0) for n in self.good),
                           20, "checks after the power cut")
        except AssertionError as e:
            self.problems.append(str(e))
            return
        landed = 0
        for n in self.good:
            new = st[n]["new"]
            if new == 0:
                self.pending[n] = 0
                landed += 1
            elif new != self.pending[n]:
                self.problems.append(f"power cut around an acknowledgement: {n} shows new {new}, "
                                     f"expected 0 or {self.pending[n]}")
                self.missed += max(0, self.pending[n] - new)
                self.dups += max(0, new - self.pending[n])
                self.pending[n] = new  # go on from what it shows; the error is counted
        log(f"power cut around an acknowledgement: landed for {landed} of {len(self.good)} accounts")

    def stop_daemon(self):
        d = self.d
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(20)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            rc = d.proc.wait()
            self.problems.append("the daemon did not stop on SIGTERM within 20 s")
        d.logf.close()
        text = d.read_log()
        if rc != 0:
            self.problems.append(f"daemon exit status {rc} after SIGTERM")
        m = SANITIZER.search(text)
        if m:
            self.problems.append("sanitizer report in the daemon log: " + text[m.start():m.start() + 1500])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0, help="total run time, roughly (default 2)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "8")))
    ap.add_argument("--break-uncounted", type=int, default=0, metavar="N",
                    help="self-test: deliver N messages the soak does not count (it must fail)")
    a = ap.parse_args()
    log(f"soak with {BIN}, {a.minutes} min, seed {a.seed}")
    return Soak(a).run()


if __name__ == "__main__":
    sys.exit(main())
