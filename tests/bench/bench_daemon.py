#!/usr/bin/env python3
"""Benchmark: `tinybiff run` with 1, 10, 100 and 500 accounts against the Dovecot fixture, next to
a shell loop of curl doing the same checks one after the other.

Accounts: account i logs in as fixture user (i mod USERS)+1, so with 500 accounts and 50 users
every user is checked by 10 separate accounts (5 IMAPS, 5 POP3S); each account is its own config
section with its own TLS session and is checked on its own. Protocol: i even -> IMAPS, odd ->
POP3S, flipped for every block of USERS accounts so each user sees both (N=1: one IMAPS account;
otherwise half and half). IMAPS watches INBOX (STATUS), POP3S lists UIDL. Polling only (idle '0').

What is measured, per account count and max_parallel:
  round 1 (cold)  interval 3600 s. Wall = from exec of the daemon until every account has a
                  last_check in /status.json (polled every 20-50 ms); CPU = the daemon's main
                  thread (it runs every check; the status page's own thread, which answers those
                  polls, is left out) at that moment, from /proc/PID/task/*/schedstat (ns).
                  Includes process start, config parse, CA load, full TLS handshakes, and the
                  poller's deliberate start spread: every account is first due at a random moment
                  in the first second, so with few accounts the wall is mostly that spread.
  steady state    interval 1 s (the minimum), after round 1: over a window, checks started (the
                  daemon's -v "checking" lines) and CPU of the whole process. CPU/round = CPU per
                  check x N (TLS sessions are resumed now; the main loop's 1 s wakeups count too).
                  Wall/round = N / (checks per second) = time between two checks of one account:
                  the work when the daemon cannot keep up with the 1 s interval (saturated),
                  otherwise the interval plus one check, marked (i).
  peak RSS        VmHWM of the daemon at the end of the steady run (the larger of both runs).
  curl loop       a bash `while read` loop running curl once per account, sequentially (IMAPS:
                  -X 'STATUS INBOX (UNSEEN)' without SELECT, POP3S: -X UIDL). Wall and CPU of the
                  whole loop (bash + every curl, from wait4), peak RSS = /usr/bin/time -f %M around
                  the loop (max over bash and every curl: in practice the largest curl), cross-checked
                  with /usr/bin/time -f %M on one curl of each protocol. Above --curl-cap accounts
                  the loop runs over the first --curl-cap accounts only (same mix) and wall/CPU are
                  scaled up linearly; such cells are marked "*".

A build without the status page (the router builds) is watched through its status_json file
(--no-page): the daemon rewrites it at most once a second, so round-1 walls are rounded up to that.

usage: tests/bench/bench_daemon.py [--bin build/host/bin/tinybiff] [--sizes 1,10,100,500]
                                   [--parallel 8,32] [--users 50] [--curl-cap 100] [--no-page]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mailfix import MailFixture  # noqa: E402
from daemonfix import free_port, section  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid, main_only=False):
    """CPU seconds of pid: every live thread, or only the main thread (which runs every check;
    the status page has its own thread). schedstat has ns resolution; /proc/PID/stat only ticks."""
    tids = [str(pid)] if main_only else os.listdir(f"/proc/{pid}/task")
    try:
        total = 0
        for t in tids:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/task/{pid}/stat" if main_only else f"/proc/{pid}/stat") as f:
            rest = f.read().rpartition(")")[2].split()
        return (int(rest[11]) + int(rest[12])) / TICK  # fields 14 and 15


def proc_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def dovecot_cpu(master):
    """CPU seconds of a Dovecot instance: the master, every child it reaped (the per-connection
    imap/pop3 processes) and its live children (login, auth, ...). /proc/PID/stat ticks."""
    def fields(pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()
    r = fields(master)
    total = sum(int(x) for x in r[11:15])  # utime stime cutime cstime
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == master:
            continue
        try:
            r = fields(e)
        except OSError:
            continue
        if int(r[1]) == master:
            total += sum(int(x) for x in r[11:15])
    return total / TICK


def plan(n, users):
    """[(name, proto, user)] for n accounts."""
    out = []
    for i in range(n):
        proto = "imaps" if ((i // users) + i) % 2 == 0 else "pop3s"
        out.append((f"acct{i:03d}", proto, f"user{i % users + 1}"))
    return out


class Run:
    """One `tinybiff run` with the given accounts; stderr (with -v) to a log file."""

    def __init__(self, bin_, work, fx, accounts, interval, parallel, page=True):
        os.makedirs(work, exist_ok=True)
        self.port = free_port()
        self.status_file = None if page else os.path.join(work, "status.json")
        self.log = os.path.join(work, "daemon.log")
        conf = os.path.join(work, "config")
        secrets = os.path.join(work, "secrets")
        lines = ["config tinybiff 'main'", f"\toption interval '{interval}'", f"\toption max_parallel '{parallel}'",
                 f"\toption status_bind '127.0.0.1:{self.port}'", f"\toption ca '{fx.ca}'",
                 f"\toption secrets '{secrets}'", f"\toption state '{os.path.join(work, 'state.img')}'",
                 f"\toption status_json '{self.status_file}'" if self.status_file else "", ""]
        for name, proto, user in accounts:
            url = f"{proto}://{user}@localhost:{fx.ports[proto]}" + ("/INBOX" if proto == "imaps" else "")
            lines += section("account", name, {"url": url, "idle": "0"} if proto == "imaps" else {"url": url})
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(f"{name} = {fx.users[user]}\n" for name, _, user in accounts))
        for p in (self.log, os.path.join(work, "state.img"), self.status_file):
            if p is None:
                continue
            if os.path.exists(p):
                os.unlink(p)
        self.n = len(accounts)
        self.logf = open(self.log, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([bin_, "run", "-v", "-c", conf], stdout=self.logf, stderr=subprocess.STDOUT)
        self.polls = 0

    def status(self):
        self.polls += 1
        if self.status_file:
            with open(self.status_file) as f:
                return json.load(f)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status.json", timeout=10) as r:
            return json.load(r)

    def cpu(self, main_only=False):
        return proc_cpu(self.proc.pid, main_only)

    def checks_started(self):
        with open(self.log, errors="replace") as f:
            return sum(1 for line in f if line.rstrip().endswith(": checking"))

    def wait_round1(self, timeout):
        """Poll until every account has a last_check; returns (wall s, daemon CPU s, status)."""
        period = 0.02 if self.n <= 10 else 0.05
        end = self.t0 + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"daemon exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                st = self.status()
            except (OSError, ValueError):
                time.sleep(period)
                continue
            if len(st["accounts"]) == self.n and all(a.get("last_check") for a in st["accounts"]):
                # main thread only: serving these very polls (status thread) is not check work
                return time.monotonic() - self.t0, self.cpu(main_only=True), st
            time.sleep(period)
        raise SystemExit(f"round 1 of {self.n} accounts not done after {timeout} s:\n{self.tail()}")

    def tail(self, n=30):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode


def errors_of(st):
    bad = [a for a in st["accounts"] if a.get("state") != "ok"]
    return [(a["name"], a.get("state"), a.get("error"), a.get("detail")) for a in bad]


def bench_daemon(a, fx, accounts, parallel, work):
    n = len(accounts)
    reps = 5 if n <= 10 else (3 if n <= 100 else 1)
    walls, cpus, hwm = [], [], 0
    for _ in range(reps):
        r = Run(a.bin, work, fx, accounts, 3600, parallel, page=not a.no_page)
        try:
            wall, cpu, st = r.wait_round1(120)
            errs = errors_of(st)
            if errs:
                raise SystemExit(f"round 1 with {n} accounts had failures: {errs[:5]}\n{r.tail()}")
            # The checks must have read real answers: IMAPS STATUS UNSEEN, POP3S every UIDL new.
            want = {"imaps": fx.unseen, "pop3s": fx.messages}
            wrong = [(x["name"], x["unseen"]) for x, (_, proto, _) in zip(st["accounts"], accounts)
                     if x["unseen"] != want[proto]]
            if wrong:
                raise SystemExit(f"round 1 with {n} accounts: wrong counts {wrong[:5]}, want {want}")
            walls.append(wall)
            cpus.append(cpu)
            hwm = max(hwm, proc_hwm_kb(r.proc.pid))
        finally:
            rc = r.stop()
        if rc != 0:
            raise SystemExit(f"daemon exit code {rc}:\n{r.tail()}")
    res = {"r1_wall": statistics.median(walls), "r1_cpu": statistics.median(cpus), "reps": reps}

    # Steady state: interval 1 s, after round 1 and one more second.
    r = Run(a.bin, work, fx, accounts, 1, parallel, page=not a.no_page)
    try:
        r.wait_round1(120)
        time.sleep(1.0)
        window = min(15.0, max(4.0, 2 * res["r1_wall"], 11.0 / n))  # >= ~10 checks at N=1
        k0, c0, v0, t0 = r.checks_started(), r.cpu(), dovecot_cpu(fx.pid), time.monotonic()
        time.sleep(window)
        k1, c1, v1, t1 = r.checks_started(), r.cpu(), dovecot_cpu(fx.pid), time.monotonic()
        st = r.status()
        errs = errors_of(st)
        hwm = max(hwm, proc_hwm_kb(r.proc.pid))
    finally:
        rc = r.stop()
    if rc != 0:
        raise SystemExit(f"daemon exit code {rc}:\n{r.tail()}")
    if errs:
        # "checking" is a normal state at the moment of the snapshot; anything else is a failure.
        real = [e for e in errs if e[1] != "checking"]
        if real:
            raise SystemExit(f"steady state with {n} accounts had failures: {real[:5]}\n{r.tail()}")
    checks = k1 - k0
    rate = checks / (t1 - t0)
    # Interval-bound when every account gets its check about once per interval (1 s +- 10 % plus
    # the check itself); saturated when the daemon falls well behind that.
    saturated = rate < 0.6 * n / 1.1
    res.update({"ss_checks": checks, "ss_window": t1 - t0, "ss_rate": rate,
                "ss_cpu_round": (c1 - c0) / checks * n if checks else float("nan"),
                "dc_cpu_round": (v1 - v0) / checks * n if checks else float("nan"),
                "dc_util": (v1 - v0) / (t1 - t0), "tb_util": (c1 - c0) / (t1 - t0),
                "ss_wall_round": n / rate if rate else None, "saturated": saturated, "hwm_kb": hwm})
    return res


def bench_curl(a, fx, accounts, work):
    """Median (by wall) of several loops: 5 for <= 10 accounts, else 3."""
    runs = [bench_curl_once(a, fx, accounts, work) for _ in range(5 if len(accounts) <= 10 else 3)]
    if runs[0] is None:
        return None
    runs.sort(key=lambda r: r["wall"])
    med = runs[len(runs) // 2]
    med["maxrss_kb"] = max((r["maxrss_kb"] or 0) for r in runs) or None
    med["reps"] = len(runs)
    return med


def bench_curl_once(a, fx, accounts, work):
    """Sequential shell loop of curl over the accounts (capped); returns wall, CPU, peak RSS."""
    curl = shutil.which("curl")
    if not curl:
        return None
    sample = accounts[:a.curl_cap]
    lst = os.path.join(work, "curl-accounts")
    fd = os.open(lst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for _, proto, user in sample:
            f.write(f"{proto} {fx.ports[proto]} {user} {fx.users[user]}\n")
    script = os.path.join(work, "curl-loop.sh")
    with open(script, "w") as f:
        f.write(f"""#!/bin/bash
# what a cron job would run: one curl per account, one after the other
fail=0
while read -r proto port user pass; do
  if [ "$proto" = imaps ]; then
    curl -s --cacert {fx.ca} -u "$user:$pass" "imaps://localhost:$port/" -X 'STATUS INBOX (UNSEEN)' >/dev/null || fail=$((fail+1))
  else
    curl -s --cacert {fx.ca} -u "$user:$pass" "pop3s://localhost:$port/" -X UIDL >/dev/null || fail=$((fail+1))
  fi
done < {lst}
exit $fail
""")
    # Peak RSS of the loop's tree comes from /usr/bin/time wrapped around bash: ru_maxrss of a child
    # forked straight from this Python would report Python's own RSS (the high-water mark survives
    # exec). CPU and wall come from wait4 (microseconds).
    tb = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    rss_file = os.path.join(work, "curl-loop.rss")
    argv = [tb, "-f", "%M", "-o", rss_file, "/bin/bash", script] if tb else ["/bin/bash", script]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"curl loop: exit {rc} (failed checks or no bash) over {len(sample)} checks")
    maxrss = None
    if tb:
        with open(rss_file) as f:
            maxrss = int(f.read().split()[-1])
    scale = len(accounts) / len(sample)
    return {"wall": wall * scale, "cpu": (ru.ru_utime + ru.ru_stime) * scale, "maxrss_kb": maxrss,
            "sampled": len(sample), "extrapolated": scale != 1}


def one_curl_rss(fx):
    """Peak RSS of single curl checks measured by /usr/bin/time -f %M (KB), per protocol."""
    tb = "/usr/bin/time"
    if not os.access(tb, os.X_OK):
        return None
    out = {}
    for proto, port in (("imaps", fx.ports["imaps"]), ("pop3s", fx.ports["pop3s"])):
        cmd = ["curl", "-s", "--cacert", fx.ca, "-u", f"user1:{fx.users['user1']}", f"{proto}://localhost:{port}/",
               "-X", "STATUS INBOX (UNSEEN)" if proto == "imaps" else "UIDL"]
        vals = []
        for _ in range(3):
            r = subprocess.run([tb, "-f", "%M", "-o", "/dev/stdout", "--"] + cmd, capture_output=True, text=True)
            vals.append(int(r.stdout.strip().splitlines()[-1]))
        out[proto] = max(vals)
    return out


def ms(x):
    return "-" if x is None else (f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "host", "bin", "tinybiff"))
    ap.add_argument("--sizes", default="1,10,100,500")
    ap.add_argument("--parallel", default="8,32", help="max_parallel values (8 is the daemon's default)")
    ap.add_argument("--users", type=int, default=50, help="Dovecot users the accounts are spread over")
    ap.add_argument("--curl-cap", type=int, default=100, help="curl loop runs at most this many checks")
    ap.add_argument("--no-page", action="store_true", help="the build has no status page: read status_json")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "host", "fixtures", "bench-daemon"))
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    pars = [int(x) for x in a.parallel.split(",")]
    os.makedirs(a.work, exist_ok=True)
    t_start = time.monotonic()
    users = min(a.users, max(sizes))
    rows = []
    with MailFixture(dir=os.path.join(a.work, "fx"), users=users, messages=20, unseen=4) as fx:
        single = one_curl_rss(fx)
        for n in sizes:
            accounts = plan(n, users)
            mix = f"{sum(p == 'imaps' for _, p, _ in accounts)}/{sum(p == 'pop3s' for _, p, _ in accounts)}"
            cu = bench_curl(a, fx, accounts, a.work)
            for par in pars:
                d = bench_daemon(a, fx, accounts, par, os.path.join(a.work, f"d{n}-{par}"))
                rows.append((n, mix, par, d, cu))
                print(f"  done: {n} accounts, max_parallel {par}: round 1 {ms(d['r1_wall'])}, "
                      f"steady {d['ss_checks']} checks in {d['ss_window']:.1f} s", file=sys.stderr)
        with open(fx.conf) as f:
            limits = [ln.strip() for ln in f if "process_limit" in ln or "service_count" in ln]
    total = time.monotonic() - t_start

    print(f"tinybiff daemon vs a shell loop of curl, Dovecot fixture on loopback ({os.cpu_count()} CPUs)")
    print(f"accounts spread over {users} Dovecot users (each account checked separately); "
          "mix = IMAPS/POP3S; polling only")
    hdr = (f"{'accounts':>8} {'mix':>7} {'par':>3} | {'r1 wall':>8} {'r1 CPU':>8} | {'wall/round':>10} "
           f"{'CPU/round':>9} {'checks/s':>8} {'dovecot':>9} | {'peak RSS':>8} || {'curl wall':>9} {'curl CPU':>9} {'curl RSS':>8}")
    print(hdr)
    print("-" * len(hdr))
    for n, mix, par, d, cu in rows:
        cw = cc = cr = "n/a"
        if cu:
            cw, cc = ms(cu["wall"]), ms(cu["cpu"])
            cr = f"{cu['maxrss_kb'] / 1024:.1f} MB" if cu["maxrss_kb"] else "n/a"
            if cu["extrapolated"]:
                cw += "*"
                cc += "*"
        wr = ms(d["ss_wall_round"]) + ("" if d["saturated"] else "(i)")
        print(f"{n:>8} {mix:>7} {par:>3} | {ms(d['r1_wall']):>8} {ms(d['r1_cpu']):>8} | "
              f"{wr:>10} {ms(d['ss_cpu_round']):>9} {d['ss_rate']:>8.1f} {ms(d['dc_cpu_round']):>9} | "
              f"{d['hwm_kb'] / 1024:>6.1f} MB || {cw:>9} {cc:>9} {cr:>8}")
    print()
    print("par       max_parallel (the daemon's default is 8)")
    print("r1        round 1, cold: exec -> every account checked once (median of 5 runs for <=10 accounts,")
    print("          3 for 100, 1 for 500); includes the poller's deliberate spread of first checks over")
    print("          the first second, and full TLS handshakes. CPU = the daemon's main thread (all checks;")
    print("          the status-page thread that answered the watching polls is left out).")
    print("wall/CPU per round  steady state at interval 1 s with TLS session resumption, whole process:")
    print("          CPU = CPU per check x N; wall = N / checks per second = time between two checks of one")
    print("          account. (i) = interval-bound: the daemon keeps up with the 1 s interval, so that")
    print("          wall is the interval plus one check, not a measure of work.")
    print("dovecot   Dovecot's CPU per steady round (master, reaped imap/pop3 processes, login/auth).")
    for n, mix, par, d, cu in rows:
        if d["saturated"]:
            print(f"          {n} accounts, max_parallel {par}: saturated; tinybiff used {d['tb_util'] * 100:.0f} % "
                  f"of a core, Dovecot {d['dc_util'] * 100:.0f} %")
    print("curl      median of 5 loops (<= 10 accounts) or 3; sequential, no TLS resumption across processes.")
    print("peak RSS  VmHWM of the daemon; curl RSS = largest process of the curl loop (/usr/bin/time %M).")
    sampled = [r for r in rows if r[4] and r[4]["extrapolated"]]
    if sampled:
        cu = sampled[0][4]
        print(f"*         curl loop ran over the first {cu['sampled']} accounts only (same mix) and was scaled "
              "linearly to the full count.")
    if single:
        print(f"one curl check under /usr/bin/time -f %M: IMAPS {single['imaps'] / 1024:.1f} MB, "
              f"POP3S {single['pop3s'] / 1024:.1f} MB peak RSS (max of 3)")
    print(f"Dovecot fixture limits: {'; '.join(sorted(set(limits)))} (imap-login/pop3-login: one process "
          "each does every TLS handshake); imap/pop3 use Dovecot defaults.")
    print(f"total benchmark time {total:.0f} s")


if __name__ == "__main__":
    main()
