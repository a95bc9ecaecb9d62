#!/usr/bin/env python3
"""End-to-end: the notifier image in QEMU checks a real Dovecot. One script for every board
(--board, default mps2-an385; BOARDS below says how each boots and where its LEDs are). The
Cortex-M3 (mps2-an385) runs every step; qemu-virt-rv32 (RV32, virtio-net) runs steps 1-6, the
two boots that exercise what a port changes (netif, flash, clock, LEDs, console), to keep the
test command short: steps 7-10 test the application, which is the same source on both.

1. Prints the image's size report.
2. Starts the Dovecot fixture (tests/fixture/mailfix.py) and an NTP server (chronyd, unpacked
   by scripts/bootstrap, serving its clock without touching the system's) on 127.0.0.1.
3. Writes the provisioning file: the fixture CA, an IMAPS and a POP3S account, the host
   table entry "localhost 10.0.2.2" (QEMU's user network forwards 10.0.2.2 to the host's
   loopback; the fixture certificate is for "localhost", so the name stays what TLS checks)
   and the NTP server at 10.0.2.2. No time is provisioned: the clock must come from SNTP.
4. Boots QEMU with a fresh flash file: the clock is set by SNTP (within 3 s of the host's),
   the UART shows both checks with the fixture's counts, LED0 steady (unread) read through
   QEMU's monitor, and /status.json through hostfwd.
5. Delivers a message: both accounts announce it once ("NEW"), LED0 blinks slowly (new).
6. Stops QEMU, delivers one more message while it is off, boots again on the same flash file:
   both unacknowledged messages count as new, but only the one that arrived while it was off
   is announced; nothing is announced twice.
7. The page (gzip'd, with a CSP) in headless Chromium shows /status.json's numbers (with
   JavaScript off it links /status.json and shows no button); a POST /ack with a wrong token
   is refused; requests naming another host (DNS rebinding) get 421 without a body and an /ack
   from another Origin 403, a provisioned web_name is served; the page's Acknowledge button
   acknowledges: LED0 steady; a third boot on the
   same flash keeps it acknowledged.

8. A fourth boot asks a hostile NTP server (hand-written: answers no real server sends): a
   reply that does not echo the request is dropped, one from 2001 is refused (before the clock
   floor, here the build time); after 15 s the checks go ahead on the build-time clock: they
   succeed if the fixture's certificates are older than the build, else they fail with class
   tls, "certificate is not valid yet". Its flash file cannot be opened, so it runs without
   sync state; /status.json's "problem" says both.
9. A fifth boot, again on the first boots' flash file and with the hostile NTP server now
   answering an hour before the fixture's certificates were made: the clock starts at the
   floor kept in flash (the newest notBefore of the chains verified before, as openssl reads
   it), the forged answer is refused, and both checks succeed without any time source.
   Then a boot with an IMAPS account in IDLE (a delivery lights the LED within 2 s; a lost
   session falls back to polling), and a boot where that IDLE account shares the one session
   with a POP3S account polled every 5 s: each POP3S check pauses IDLE cleanly, IDLE resumes.
10. A sixth boot checks a hand-written POP3S server (tests/hostile) that holds one UIDL
   listing open until the test has acknowledged through /ack: the check that finishes after
   the acknowledge reports 0 new and announces nothing; mail listed later is new again.
   The same boot checks an IMAPS and a POP3S account on a real Cyrus IMAP
   (tests/fixture/cyrusfix.py, same test CA): Cyrus's counts, and a message delivered through
   its LMTP is announced once by each.

11. Provider-shaped certificate chains (tests/fixture/chains.py: RSA-4096 roots, 40-name leaves,
   cross-signed roots, all-P-384, out of order) served by tlsfront, a TLS server that ignores
   max_fragment_length, in front of a second Dovecot's plain ports: one boot checks an IMAPS
   account per shape, one a POP3S account per shape. Every check succeeds with Dovecot's counts;
   tlsfront's record log shows each chain went out in one record (over 4 KB for the larger
   shapes) and the POP3 listing in records over 8 KB; the UART's pool and stack peaks stay
   within the pool and the 8 KB stack. A table of the figures is printed for the README.

QEMU, chronyd and the fixture are always stopped (finally blocks, SIGTERM handler, deadlines).
usage: notifier_e2e.py ELF WORKDIR [--board NAME]
"""
import calendar
import gzip
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))
import chains  # noqa: E402
MAILFIX = os.path.join(ROOT, "tests", "fixture", "mailfix.py")
CHRONYD = os.path.join(ROOT, ".deps", "tools", "chrony", "usr", "sbin", "chronyd")
USER = "user1"

# How each board boots in QEMU and where the test reads its LEDs (bit 0 mail, bit 1 network):
# a 32-bit word at led_addr, read with the monitor's xp. full: run every step (see above).
BOARDS = {
    "mps2-an385": {
        "qemu": ["qemu-system-arm", "-M", "mps2-an385"],
        "nic": lambda fwd: ["-nic", f"user,model=lan9118,{fwd}"],
        "trace": ["-trace", "mps2_fpgaio_write"],
        "led_addr": 0x40028000, "led": "FPGAIO LED0", "full": True,
    },
    "qemu-virt-rv32": {
        # -bios none: no OpenSBI, QEMU jumps to the image at 0x80000000 in machine mode.
        # force-legacy=false: the virtio 1.x (modern) MMIO interface the driver is written for.
        "qemu": ["qemu-system-riscv32", "-M", "virt", "-bios", "none",
                 "-global", "virtio-mmio.force-legacy=false"],
        "nic": lambda fwd: ["-netdev", f"user,id=net0,{fwd}", "-device", "virtio-net-device,netdev=net0"],
        "trace": [],
        "led_addr": 0x801FF000, "led": "the LED word", "full": False,
    },
}
BOARD = BOARDS["mps2-an385"]


class Fail(Exception):
    pass


def log(msg):
    print(f"[e2e] {msg}", flush=True)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Chronyd:
    """A real NTP server on 127.0.0.1: chronyd serving its local clock (-x: it never sets it)."""

    def __init__(self, work):
        if not os.access(CHRONYD, os.X_OK):
            raise Fail(f"{CHRONYD} missing: run scripts/bootstrap")
        self.port = free_port(socket.SOCK_DGRAM)
        conf = os.path.join(work, "chrony.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\n"
                    f"cmdport 0\npidfile {work}/chronyd.pid\n")
        self.log = open(os.path.join(work, "chronyd.log"), "w")
        # As root it would switch to the package's user, which an unpacked chrony does not have.
        who = ["-u", "root"] if os.getuid() == 0 else ["-U"]
        self.p = subprocess.Popen([CHRONYD, "-x", "-d", *who, "-f", conf], stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()  # nothing is left running when it does not come up
            raise
        log(f"chronyd serving NTP on 127.0.0.1:{self.port}")

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise Fail(f"chronyd exited ({self.p.returncode}); see chronyd.log")
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.5)
            try:
                s.sendto(b"\x23" + b"\0" * 47, ("127.0.0.1", self.port))
                d, _ = s.recvfrom(100)
                if len(d) >= 48 and d[0] & 7 == 4 and struct.unpack(">I", d[40:44])[0]:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                s.close()
        raise Fail("chronyd does not answer NTP requests")

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()


class ForgedNtp:
    """For each request two answers: one that does not echo the request's transmit time (with
    the right time), then one that echoes it but says `forged` (unix seconds; default 2001-01-01)."""

    def __init__(self, forged=978307200):
        self.forged = forged
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.3)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.done = False
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    @staticmethod
    def _answer(orig, unix):
        ntp = int(unix) + 2208988800
        p = bytearray(48)
        p[0] = (4 << 3) | 4  # version 4, mode server
        p[1] = 2
        p[24:32] = orig
        p[32:48] = struct.pack(">IIII", ntp, 0, ntp, 0)
        return bytes(p)

    def _serve(self):
        while not self.done:
            try:
                d, addr = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(d) < 48:
                continue
            self.requests += 1
            self.sock.sendto(self._answer(os.urandom(8), time.time()), addr)
            self.sock.sendto(self._answer(d[40:48], self.forged), addr)

    def stop(self):
        self.done = True
        self.t.join(5)
        self.sock.close()


def not_before(*pem_files):
    """The latest notBefore (unix seconds) of these certificates."""
    latest = 0
    for path in pem_files:
        r = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-in", path],
                           capture_output=True, text=True, check=True)
        t = time.strptime(r.stdout.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
        latest = max(latest, calendar.timegm(t))
    return latest


def private_file(path):
    """Open for writing, readable by the owner only from the start (it holds a password)."""
    if os.path.exists(path):
        os.remove(path)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w")


def ntp_at(cfg, port):
    """A copy of the provisioning file that asks the NTP server on the host's port."""
    out = os.path.splitext(cfg)[0] + "-other-ntp.cfg"
    with open(cfg) as f, private_file(out) as g:
        g.write(re.sub(r"(?m)^ntp .*$", f"ntp 10.0.2.2 {port}", f.read()))
    return out


def mailfix(*args):
    r = subprocess.run([sys.executable, MAILFIX, *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Fail(f"mailfix {args[0]} failed: {r.stderr.strip()[-2000:]}")
    return r.stdout


class Qemu:
    """One QEMU run: UART lines collected by a thread, the LED register read through the monitor."""

    def __init__(self, elf, cfg, flash, trace, http_port):
        self.mon_path = trace + ".mon"
        if os.path.exists(self.mon_path):
            os.remove(self.mon_path)
        self.mon = None
        self.lines = []
        self.cond = threading.Condition()
        self.trace = trace
        # The monitor (on a private socket) reads the LED register for the LED checks; a trace
        # of the register writes (mps2's FPGAIO) is kept next to it for people.
        cmd = BOARD["qemu"] + ["-nographic",
               "-monitor", f"unix:{self.mon_path},server=on,wait=off",
               "-semihosting-config",
               f"enable=on,target=native,arg=notifier,arg={cfg},arg={flash}",
               "-serial", "stdio"] + BOARD["nic"](f"hostfwd=tcp:127.0.0.1:{http_port}-:80") + \
              BOARD["trace"] + ["-D", trace, "-kernel", elf]
        log("boot: " + " ".join(cmd))
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            print(f"  uart| {line}", flush=True)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, pattern, start=0, timeout=60.0):
        """First line at index >= start matching pattern: (index, match)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise Fail(f"no UART line matching /{pattern}/ within {timeout:.0f} s"
                               + (" (QEMU exited)" if self.p.poll() is not None else ""))
                self.cond.wait(min(left, 0.5))

    def grep(self, pattern, start=0):
        rx = re.compile(pattern)
        with self.cond:
            return [l for l in self.lines[start:] if rx.search(l)]

    def mark(self):
        with self.cond:
            return len(self.lines)

    def led_read(self):
        """Current LED register value, read through the QEMU monitor."""
        if self.mon is None:
            deadline = time.monotonic() + 10
            while True:
                try:
                    self.mon = socket.socket(socket.AF_UNIX)
                    self.mon.settimeout(5)
                    self.mon.connect(self.mon_path)
                    break
                except OSError:
                    self.mon = None
                    if time.monotonic() > deadline:
                        raise Fail("QEMU monitor socket not reachable")
                    time.sleep(0.2)
            self._mon_until_prompt()
        self.mon.sendall(b"xp /1wx 0x%x\n" % BOARD["led_addr"])
        out = self._mon_until_prompt()
        m = re.search(r"%x:\s+0x([0-9a-f]+)" % BOARD["led_addr"], out)
        if not m:
            raise Fail(f"unexpected monitor answer: {out!r}")
        return int(m.group(1), 16)

    def _mon_until_prompt(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self.mon.recv(4096)
            if not chunk:
                raise Fail("QEMU monitor closed")
            buf += chunk
        return buf.decode("utf-8", "replace")

    def led_samples(self, secs=2.5):
        vals = []
        end = time.monotonic() + secs
        while time.monotonic() < end:
            vals.append(self.led_read())
            time.sleep(0.05)
        return vals

    def led_writes(self):
        vals = []
        try:
            with open(self.trace) as f:
                for l in f:
                    m = re.search(r"mps2_fpgaio_write .*offset 0x0 data 0x([0-9a-f]+)", l)
                    if m:
                        vals.append(int(m.group(1), 16))
        except FileNotFoundError:
            pass
        return vals

    def stop(self):
        if self.mon is not None:
            self.mon.close()
            self.mon = None
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
                self.p.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()
        self.t.join(timeout=5)


def parse_kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def wait_checks(q, start, timeout=90.0):
    """The next successful check of each account after line start: {label: fields}."""
    out = {}
    for label in ("imap-0", "pop3-1"):
        _, m = q.wait_for(rf"^check {label} (ok|failed)", start, timeout)
        i, m = q.wait_for(rf"^check {label} ok ", start, timeout)
        out[label] = parse_kv(q.lines[i])
    return out


def fetch_json(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=5) as r:
                return json.loads(r.read().decode())
        except Exception as e:  # connection refused until the guest listens
            last = e
            time.sleep(0.5)
    raise Fail(f"/status.json not reachable through hostfwd: {last}")


def expect(cond, what):
    if not cond:
        raise Fail(what)
    log("ok: " + what)


def check_counts(checks, fx_counts, extra_messages=0):
    imap, pop = checks["imap-0"], checks["pop3-1"]
    expect(int(imap["messages"]) == fx_counts["messages"], f"IMAPS messages {imap['messages']} == fixture {fx_counts['messages']}")
    expect(int(imap["unseen"]) == fx_counts["unseen"], f"IMAPS unseen {imap['unseen']} == fixture {fx_counts['unseen']}")
    expect(int(imap["uidnext"]) == fx_counts["uidnext"], f"IMAPS uidnext {imap['uidnext']} == fixture {fx_counts['uidnext']}")
    expect(int(pop["messages"]) == fx_counts["messages"], f"POP3S messages {pop['messages']} == fixture {fx_counts['messages']}")


def check_status_json(port, fx_counts, want_new):
    st = fetch_json(port)
    log(f"/status.json: {json.dumps(st)}")
    accts = {a["name"]: a for a in st["accounts"]}
    expect(accts["imap-0"]["unseen"] == fx_counts["unseen"], "/status.json IMAPS unseen matches the fixture")
    expect(accts["pop3-1"]["unseen"] == fx_counts["messages"], "/status.json POP3S unseen (maildrop) matches the fixture")
    expect(accts["imap-0"]["new"] == want_new and accts["pop3-1"]["new"] == want_new,
           f"/status.json new is {want_new} for both accounts")
    expect(accts["imap-0"]["state"] == "ok" and accts["imap-0"]["tls"] == "TLSv1.3", "/status.json state ok, TLSv1.3")
    expect("pw-" not in json.dumps(st), "/status.json carries no password")
    expect(st["problem"] is None, "/status.json reports no device problem (flash and clock fine)")


def http(port, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request through hostfwd."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body is not None else None, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check_page(port):
    """The page as served: gzip'd HTML with a CSP that allows only its own script and style."""
    code, hdrs, raw = http(port, "GET", "/")
    expect(code == 200 and hdrs.get("Content-Encoding") == "gzip", "GET / serves the page, gzip'd")
    page = gzip.decompress(raw).decode()
    csp = hdrs.get("Content-Security-Policy", "")
    expect(page.startswith("<!DOCTYPE html>") and "/status.json" in page and "Acknowledge" in page,
           f"the page ({len(raw)} bytes on the wire, {len(page)} unpacked) loads /status.json")
    expect("default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe" not in csp,
           "the page's CSP allows only its own hashed script and style")
    code, hdrs, _ = http(port, "GET", "/nothing-here")
    expect(code == 404, "an unknown path is 404")
    # Several browsers at once: each gets the page or the JSON (no JSON response holds a buffer
    # another one needs, web.c); nothing hangs or breaks the device. There are more clients than
    # lwIP's TCP PCBs (MEMP_NUM_TCP_PCB): a new connection may then take the PCB of the oldest
    # one of the same priority (lwIP's tcp_alloc), whose client sees its connection dropped, as a
    # browser does and retries. Any other answer (an error status, a hang) is a failure.
    codes, lock = [], threading.Lock()
    dropped = ("RemoteDisconnected", "ConnectionResetError", "BadStatusLine")

    def one(path):
        try:
            c = http(port, "GET", path)[0]
        except Exception as e:
            c = "dropped" if type(e).__name__ in dropped else repr(e)
        with lock:
            codes.append((path, c))
    ts = [threading.Thread(target=one, args=(p,)) for p in ["/", "/status.json"] * 4]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    ok = [p for p, c in codes if c == 200]
    expect(len(codes) == 8 and all(c in (200, "dropped") for _, c in codes) and len(ok) >= 4
           and "/status.json" in ok and "/" in ok,
           f"8 parallel requests answered 200 (or dropped for a newer one): {codes}")
    expect(fetch_json(port)["accounts"], "/status.json still answers after them")


def idle_clients_do_not_block_checks(port, qemu):
    """Clients that connect to the page and send nothing hold lwIP's few TCP PCBs; a mail
    check must still get one (lwIP takes the oldest lower-priority PCB: httpd's)."""
    socks = []
    try:
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            socks.append(s)
        time.sleep(1.0)  # QEMU's user network connects each of them to the guest
        mark = qemu.mark()
        for label in ("imap-0", "pop3-1"):
            i, _ = qemu.wait_for(rf"^check {label} (ok|failed)", mark, 60)
            expect(qemu.lines[i].startswith(f"check {label} ok "),
                   f"with 8 idle clients on the page, {label} is still checked: {qemu.lines[i]}")
    finally:
        for s in socks:
            s.close()
    expect(fetch_json(port)["accounts"], "the page answers again once they are gone")


def chromium(javascript=True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        opts.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=412,915", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def page_without_javascript(port):
    """With JavaScript off the page says where the numbers are and shows no dead button."""
    from selenium.webdriver.common.by import By

    drv = chromium(javascript=False)
    try:
        drv.get(f"http://127.0.0.1:{port}/")
        link = drv.find_element(By.CSS_SELECTOR, "noscript a")
        expect(link.is_displayed() and link.get_attribute("href").endswith("/status.json"),
               "without JavaScript the page links /status.json")
        expect(not drv.find_element(By.ID, "ack").is_displayed(),
               "without JavaScript there is no Acknowledge button that cannot work")
    finally:
        drv.quit()


def acknowledge_in_browser(port, qemu, work):
    """Headless Chromium: the page shows /status.json's numbers; its button acknowledges."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = chromium()
    try:
        drv.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(drv, 15)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section[data-account]")) == 2)
        st = fetch_json(port)
        for a in st["accounts"]:
            row = drv.find_element(By.CSS_SELECTOR, f'section[data-account="{a["name"]}"]')
            unseen = row.find_element(By.CSS_SELECTOR, "td.unseen").text
            new = row.find_element(By.CSS_SELECTOR, "td.new").text
            expect(unseen == str(a["unseen"]) and new == str(a["new"]),
                   f"page shows {a['name']} unread {unseen} new {new}, as /status.json")
        expect(drv.find_element(By.ID, "unseen").text == str(st["unseen"]), "page total unread as /status.json")
        errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
        expect(not errors, f"no errors in the browser console (CSP, script): {errors}")
        drv.save_screenshot(os.path.join(work, "notifier_page.png"))
        mark = qemu.mark()
        drv.find_element(By.ID, "ack").click()
        qemu.wait_for(r"^ack: new mail acknowledged", mark, 10)
        wait.until(lambda d: d.find_element(By.ID, "new").text == "0")
        cells = [e.text for e in drv.find_elements(By.CSS_SELECTOR, "td.new")]
        expect(cells == ["0", "0"], f"after Acknowledge the page shows 0 new for both accounts ({cells})")
    finally:
        drv.quit()


def led_steady(q, secs=1.5):
    """LED0 lit in every sample (and LED1, the network LED)."""
    vals = q.led_samples(secs)
    return all(v == 3 for v in vals), vals


def led_blinks(q, secs=2.5):
    vals = q.led_samples(secs)
    return {v & 1 for v in vals} == {0, 1} and all(v & 2 for v in vals)


def run(elf, work):
    os.makedirs(work, exist_ok=True)
    fxdir = os.path.join(work, "fx")
    cfg = os.path.join(work, "notifier.cfg")
    flash = os.path.join(work, "flash.bin")
    for f in (flash,):
        if os.path.exists(f):
            os.remove(f)
    facts = json.loads(mailfix("start", "--dir", fxdir, "--users", "1", "--messages", "5", "--unseen", "2"))
    qemu = ntp = None
    try:
        ntp = Chronyd(work)
        pw = facts["users"][0]["password"]
        with private_file(cfg) as f:
            f.write("# written by tests/e2e/notifier_e2e.py\n")
            f.write(f"ntp 10.0.2.2 {ntp.port}\n")
            f.write("host localhost 10.0.2.2\n")
            f.write("interval 5\n")
            f.write("web_name biff.test\n")
            f.write(f"ca {facts['ca']}\n")
            f.write(f"account imaps://{USER}@localhost:{facts['ports']['imaps']}/INBOX {pw}\n")
            f.write(f"account pop3s://{USER}@localhost:{facts['ports']['pop3s']} {pw}\n")

        def counts():
            return json.loads(mailfix("counts", "--dir", fxdir, "--user", USER))

        # ---- first boot on a blank flash file
        http_port = free_port()
        qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace1.log"), http_port)
        qemu.wait_for(r"^net: address 10\.0\.2\.\d+", 0, 60)
        _, m = qemu.wait_for(r"^time: (\d+) from SNTP", 0, 20)
        skew = int(m.group(1)) - time.time()
        expect(abs(skew) < 3, f"clock set by SNTP from chronyd ({skew:+.1f} s from the host)")
        c0 = counts()
        checks = wait_checks(qemu, 0)
        check_counts(checks, c0)
        expect(checks["imap-0"]["new"] == "0" and checks["pop3-1"]["new"] == "0",
               "first check is the baseline: nothing announced as new")
        expect(checks["imap-0"]["tls"] == "TLSv1.3", "IMAPS over TLS 1.3")
        qemu.wait_for(r"^led steady", 0, 30)
        time.sleep(1.0)
        ok, vals = led_steady(qemu)
        expect(ok, f"{BOARD['led']}: LED0 steadily on (unread), LED1 on (network): samples {sorted(set(vals))}")
        check_status_json(http_port, c0, 0)
        skew = fetch_json(http_port)["now"] - time.time()
        expect(abs(skew) < 3, f"/status.json now is the SNTP time ({skew:+.1f} s)")
        expect(not qemu.grep(r"^NEW "), "no NEW announcement before a delivery")

        # ---- a delivery while running: announced once, LED0 blinks
        mark = qemu.mark()
        mailfix("deliver", "--dir", fxdir, "--user", USER, "--subject", "e2e while running")
        c1 = counts()
        qemu.wait_for(r"^NEW imap-0 1$", mark, 60)
        qemu.wait_for(r"^NEW pop3-1 1$", mark, 60)
        qemu.wait_for(r"^led slow", mark, 30)
        checks = wait_checks(qemu, qemu.mark())
        check_counts(checks, c1)
        expect(led_blinks(qemu), f"{BOARD['led']}: LED0 blinks (new)")
        check_status_json(http_port, c1, 1)
        expect(len(qemu.grep(r"^NEW imap-0 ", mark)) == 1 and len(qemu.grep(r"^NEW pop3-1 ", mark)) == 1,
               "each account announced the delivery exactly once")
        qemu.stop()
        qemu = None

        # ---- off: one more message arrives; then boot again on the same flash file
        mailfix("deliver", "--dir", fxdir, "--user", USER, "--subject", "e2e while off")
        c2 = counts()
        qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace2.log"), http_port)
        qemu.wait_for(r"^store: mounted", 0, 30)
        first = wait_checks(qemu, 0)
        check_counts(first, c2)
        expect(first["imap-0"]["new"] == "2" and first["pop3-1"]["new"] == "2",
               "after the restart both unacknowledged messages are new (IMAP and POP3)")
        later = wait_checks(qemu, qemu.mark())
        later = wait_checks(qemu, qemu.mark())
        check_counts(later, c2)
        expect(len(qemu.grep(r"^NEW imap-0 1$")) == 1 and len(qemu.grep(r"^NEW pop3-1 1$")) == 1
               and len(qemu.grep(r"^NEW ")) == 2,
               "after the restart only the message delivered while off is announced, once per account")
        expect(led_blinks(qemu), f"{BOARD['led']}: LED0 still blinks, the new mail is not acknowledged yet")
        check_status_json(http_port, c2, 2)
        if not BOARD["full"]:
            mem = qemu.grep(r"^mem: ")
            if mem:
                log("memory: " + mem[-1])
            expect(not qemu.grep(r"tls heap: .* more in use"), "no TLS heap leak across checks")
            log("PASS (this board runs the two boots; the application steps run on mps2-an385)")
            return 0

        # ---- acknowledge through the page
        check_page(http_port)
        idle_clients_do_not_block_checks(http_port, qemu)
        code, hdrs, _ = http(http_port, "GET", "/status.json")
        token = hdrs.get("X-CSRF-Token", "")
        expect(code == 200 and re.fullmatch(r"[0-9a-f]{32}", token) is not None,
               "/status.json carries the acknowledge token")
        for bad in ("csrf=0000", "", f"csrf={token[:-1]}", f"csrf={token}x"):
            code, _, _ = http(http_port, "POST", "/ack", bad)
            expect(code == 403, f"POST /ack with a wrong token ({bad!r}) is refused")
        # DNS rebinding: a page of the attacker's that rebound its name to the device sends that
        # name in Host (and Origin); it gets 421 without a body, the token included.
        evil = f"evil.example:{http_port}"
        for method, path, body in (("GET", "/status.json", None), ("GET", "/", None),
                                   ("POST", "/ack", f"csrf={token}")):
            code, hdrs, raw = http(http_port, method, path, body, {"Host": evil, "Origin": f"http://{evil}"})
            expect(code == 421 and raw == b"" and "X-CSRF-Token" not in hdrs,
                   f"{method} {path} for Host {evil} is 421 without a body ({code}, {len(raw)} bytes)")
        code, _, _ = http(http_port, "POST", "/ack", f"csrf={token}", {"Origin": f"http://{evil}"})
        expect(code == 403, "POST /ack with the right token from another Origin is 403")
        code, hdrs, _ = http(http_port, "GET", "/status.json", None, {"Host": f"biff.test:{http_port}"})
        expect(code == 200 and hdrs.get("X-CSRF-Token") == token, "the provisioned web_name is served")
        expect(not qemu.grep(r"^ack: "), "nothing was acknowledged by the refused requests")
        expect(led_blinks(qemu), f"{BOARD['led']}: LED0 still blinks after the refused requests")
        page_without_javascript(http_port)
        mark = qemu.mark()
        acknowledge_in_browser(http_port, qemu, work)
        qemu.wait_for(r"^led steady", mark, 10)
        expect(led_steady(qemu)[0], f"{BOARD['led']}: LED0 steady again after the acknowledge")
        later = wait_checks(qemu, qemu.mark())
        expect(later["imap-0"]["new"] == "0" and later["pop3-1"]["new"] == "0", "nothing new after the acknowledge")
        check_status_json(http_port, c2, 0)
        mem = qemu.grep(r"^mem: ")
        if mem:
            log("memory: " + mem[-1])
        expect(not qemu.grep(r"tls heap: .* more in use"), "no TLS heap leak across checks")
        qemu.stop()
        qemu = None

        # ---- third boot: the acknowledge is kept in flash
        qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace3.log"), http_port)
        again = wait_checks(qemu, 0)
        check_counts(again, c2)
        expect(again["imap-0"]["new"] == "0" and again["pop3-1"]["new"] == "0" and not qemu.grep(r"^NEW "),
               "third boot: acknowledged mail is neither new nor announced")
        qemu.wait_for(r"^led steady", 0, 10)
        qemu.stop()
        qemu = None

        # ---- fourth boot: a hostile NTP server cannot set the clock
        forged = ForgedNtp()
        try:
            cfg4 = ntp_at(cfg, forged.port)
            # ... and on a flash file that cannot be opened: the device runs without sync state.
            qemu = Qemu(elf, cfg4, os.path.join(work, "no-such-dir", "flash.bin"),
                        os.path.join(work, "trace4.log"), http_port)
            _, m = qemu.wait_for(r"^provisioned: .* clock (\d+) \(build time floor\)", 0, 30)
            build_time = int(m.group(1))
            qemu.wait_for(r"^store: cannot open flash file .*sync state is not kept", 0, 30)
            qemu.wait_for(rf"^time: SNTP answer 978307200 is before the clock floor {build_time}, ignored", 0, 30)
            expect(forged.requests >= 1, "the notifier asked the hostile NTP server")
            _, m = qemu.wait_for(r"^time: no SNTP answer within 15 s, checking with the clock at (\d+)", 0, 30)
            floor = int(m.group(1))
            expect(not qemu.grep(r"from SNTP"), "neither the forged nor the 2001 answer set the clock")
            expect(floor < time.time() - 10, "the clock stayed at the build-time floor")
            # Whether the fixture's certificates look valid on that clock depends on whether they
            # were made before this build (the fixture reuses them while they are valid).
            valid = not_before(facts["ca"], facts["cert_file"]) <= floor
            for label in ("imap-0", "pop3-1"):
                i, _ = qemu.wait_for(rf"^check {label} (ok|failed)", 0, 60)
                line = qemu.lines[i]
                if valid:
                    expect(line.startswith(f"check {label} ok "),
                           f"{label} checks on the floor clock (certificates older than the build)")
                else:
                    expect(re.search(r"failed error=tls detail=certificate is not valid yet", line) is not None,
                           f"{label}: certificates newer than the floor clock fail, and say why: {line}")
            st = fetch_json(http_port)
            expect(st["now"] < time.time() - 10, "/status.json shows the floor clock, not 2001")
            expect(st["problem"] is not None and "flash unusable" in st["problem"]
                   and "no answer from the NTP server" in st["problem"],
                   f"/status.json says what is wrong with the device: {st['problem']!r}")
        finally:
            forged.stop()
        qemu.stop()
        qemu = None

        # ---- fifth boot: after a power cut no time source answers; the clock starts at the floor
        # that verified certificates left in flash, and a forged answer below it is refused.
        want_floor = max(build_time, not_before(facts["ca"], facts["cert_file"]))
        forged = ForgedNtp(forged=want_floor - 3600)
        try:
            qemu = Qemu(elf, ntp_at(cfg, forged.port), flash, os.path.join(work, "trace5.log"), http_port)
            qemu.wait_for(r"^store: mounted", 0, 30)
            if want_floor > build_time:
                _, m = qemu.wait_for(r"^time: clock floor (\d+), the newest certificate verified before", 0, 10)
                expect(int(m.group(1)) == want_floor,
                       f"the clock floor kept in flash is the certificates' notBefore ({m.group(1)} == {want_floor})")
            else:
                log(f"the fixture's certificates predate the build: the floor stays the build time {build_time}")
            qemu.wait_for(rf"^time: SNTP answer {want_floor - 3600} is before the clock floor {want_floor}, ignored", 0, 30)
            _, m = qemu.wait_for(r"^time: no SNTP answer within 15 s, checking with the clock at (\d+)", 0, 30)
            expect(want_floor <= int(m.group(1)) < want_floor + 60,
                   f"the clock ran on from the floor ({int(m.group(1)) - want_floor} s past it)")
            later = wait_checks(qemu, 0)
            check_counts(later, c2)
            expect(not qemu.grep(r"^check \S+ failed"), "both checks succeed on the floor clock, no time source needed")
            st = fetch_json(http_port)
            want = "clock from the newest verified certificate" if want_floor > build_time else "clock at the build time"
            expect(st["problem"] == f"no answer from the NTP server: {want}",
                   f"/status.json says where the clock comes from: {st['problem']!r}")
        finally:
            forged.stop()
        qemu.stop()
        qemu = None

        largest_status(elf, work, facts, http_port)
        idle_account(elf, work, facts, fxdir, http_port)
        idle_beside_polled(elf, work, facts, http_port)
        qemu = acknowledge_during_a_pop3_listing(elf, work, facts, http_port)
        qemu.stop()
        qemu = None
        provider_chains(elf, work, http_port)
        log("PASS")
        return 0
    finally:
        if qemu:
            qemu.stop()
        if ntp:
            ntp.stop()
        subprocess.run([sys.executable, MAILFIX, "stop", "--dir", fxdir], timeout=60)


def largest_status(elf, work, facts, http_port):
    """/status.json of the largest model the provisioning takes: the most accounts (6), each
    with a folder name longer than the model keeps (31 bytes on the notifier), made of the
    characters JSON escapes ('"' and '\\'), and each in error: Dovecot has no such mailbox, and
    its error text, which names it, fills the account's detail. The document is larger
    than one buffer of the firmware (it was 2,048 B with the header: HTTP 500 past it); it must
    come whole: 200, its Content-Length, valid JSON with every account and folder."""
    cfg = os.path.join(work, "notifier-largest.cfg")
    flash = os.path.join(work, "flash-largest.bin")
    if os.path.exists(flash):
        os.remove(flash)
    pw = facts["users"][0]["password"]

    def text(pairs):  # the provisioning file must stay under 768 B (its parsed copies share it)
        folders = [f"{i}" + '"\\' * pairs for i in range(6)]
        return folders, (f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 300\nca {facts['ca']}\n"
                         + "".join(f"account imaps://{USER}@localhost:{facts['ports']['imaps']}/{f} {pw}\n"
                                   for f in folders))
    pairs = 27
    while len(text(pairs)[1].encode()) >= 768 and pairs > 16:
        pairs -= 1
    folders, body = text(pairs)
    expect(len(body.encode()) < 768, f"the provisioning fits ({len(body.encode())} B, folder names of {2 * pairs + 1} B)")
    with private_file(cfg) as f:
        f.write(body)
    qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace-largest.log"), http_port)
    try:
        qemu.wait_for(r"^http: status page on port 80", 0, 60)
        for i in range(6):
            qemu.wait_for(rf"^check imap-{i} failed", 0, 60)
        code, hdrs, raw = http(http_port, "GET", "/status.json")
        expect(code == 200, f"/status.json of the largest model answers 200 ({code}, {len(raw)} bytes)")
        expect(int(hdrs.get("Content-Length", -1)) == len(raw) and len(raw) > 2048,
               f"it comes whole, past the old 2,048 B buffer: {len(raw)} bytes, Content-Length "
               f"{hdrs.get('Content-Length')}")
        st = json.loads(raw.decode())
        got = [(a["name"], a["state"], [fo["name"] for fo in a["folders"]], a["detail"][:31]) for a in st["accounts"]]
        expect(got == [(f"imap-{i}", "error", [folders[i][:31]], "STATUS: Mailbox doesn't exist: ") for i in range(6)],
               f"every account, in error, with its folder name and Dovecot's error, in order: {got[0]}")
        expect(hdrs.get("Cache-Control") == "no-store" and re.fullmatch(r"[0-9a-f]{32}", hdrs.get("X-CSRF-Token", "")),
               "with Cache-Control: no-store and the acknowledge token")
        expect(pw not in raw.decode(), "no password in it")
    finally:
        qemu.stop()


def idle_account(elf, work, facts, fxdir, http_port):
    """IMAP IDLE through the agent: a delivery to an account in IDLE lights the LED within 2 s
    (the schedule alone would take 5 minutes); a lost session falls back to polling and IDLE
    comes back."""
    cfg = os.path.join(work, "notifier-idle.cfg")
    flash = os.path.join(work, "flash-idle.bin")
    if os.path.exists(flash):
        os.remove(flash)
    pw = facts["users"][0]["password"]
    with private_file(cfg) as f:
        f.write(f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 300\nca {facts['ca']}\n"
                f"account imaps://{USER}@localhost:{facts['ports']['imaps']}/INBOX {pw} idle\n")
    qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace-idle.log"), http_port)
    try:
        qemu.wait_for(r"^check imap-0 ok .* new=0 ", 0, 60)
        qemu.wait_for(r"^idle imap-0 on INBOX$", 0, 20)
        for round_ in ("", " again after the lost session"):
            time.sleep(1.0)  # the server has the IDLE command: its notifications are armed
            mark = qemu.mark()
            t0 = time.monotonic()
            mailfix("deliver", "--dir", fxdir, "--user", USER, "--subject", "e2e idle")
            qemu.wait_for(r"^led slow ", mark, 10)
            took = time.monotonic() - t0
            expect(took <= 2.0, f"a delivery to the IDLE account lights the LED (slow blink) within 2 s{round_}: "
                                f"{took:.2f} s")
            qemu.wait_for(r"^NEW imap-0 1$", mark, 10)
            if round_:
                break
            # acknowledged, so the next delivery changes the LED again
            code, hdrs, _ = http(http_port, "GET", "/status.json")
            code, _, _ = http(http_port, "POST", "/ack", f"csrf={hdrs.get('X-CSRF-Token', '')}")
            qemu.wait_for(r"^led steady ", mark, 10)
            mark = qemu.mark()
            mailfix("kick", "--dir", fxdir, "--user", USER)
            qemu.wait_for(r"^idle imap-0 session lost: polling$", mark, 20)
            qemu.wait_for(r"^check imap-0 ok ", mark, 30)
            qemu.wait_for(r"^idle imap-0 on INBOX$", mark, 30)
            log("ok: the lost IDLE session fell back to a polled check, then IDLE again")
    finally:
        qemu.stop()


def idle_beside_polled(elf, work, facts, http_port):
    """An IMAP account in IDLE and a POP3S account polled every 5 s share the notifier's one
    session: the POP3S account is checked on its interval, each time the IDLE session gives way
    cleanly and the IMAP account idles again after it (before the fix: never checked again)."""
    cfg = os.path.join(work, "notifier-idle-polled.cfg")
    flash = os.path.join(work, "flash-idle-polled.bin")
    if os.path.exists(flash):
        os.remove(flash)
    pw = facts["users"][0]["password"]
    with private_file(cfg) as f:
        f.write(f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 5\nca {facts['ca']}\n"
                f"account imaps://{USER}@localhost:{facts['ports']['imaps']}/INBOX {pw} idle\n"
                f"account pop3s://{USER}@localhost:{facts['ports']['pop3s']} {pw}\n")
    qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace-idle-polled.log"), http_port)
    try:
        i, _ = qemu.wait_for(r"^idle imap-0 on INBOX$", 0, 60)
        for _ in range(2):
            i, _ = qemu.wait_for(r"^idle imap-0 paused: another account's turn$", i + 1, 20)
            i, _ = qemu.wait_for(r"^check pop3-1 ok ", i + 1, 20)
            i, _ = qemu.wait_for(r"^idle imap-0 on INBOX$", i + 1, 20)
        expect(not qemu.grep(r"^check \S+ failed|session lost"),
               "no check failed and no IDLE session was lost: the IDLE account only paused")
        log("ok: a POP3S account beside an IDLE account is checked on its interval, IDLE resumes after each")
    finally:
        qemu.stop()


def acknowledge_during_a_pop3_listing(elf, work, facts, http_port):
    """An acknowledge while a POP3 check is half-way through its listing must not bring the
    acknowledged mail back (before the fix the check ended with new=2 and announced it again).
    Cyrus accounts ride along in the same boot (no boot of their own: QEMU time is the cost)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "hostile"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))
    from hostile import HostileServer
    from cyrusfix import CyrusFixture
    import responders as R

    uids = [b"a", b"b"]
    uidl = R.HeldUidl(uids)

    pki = os.path.dirname(facts["cert_file"])
    srv = HostileServer(lambda p: R.pop3_session(p, uids=uids, on={b"UIDL": uidl}),
                        tls_cert=facts["cert_file"], tls_key=os.path.join(pki, "server.key"), implicit_tls=True)
    cfg = os.path.join(work, "notifier-held-pop3.cfg")
    flash = os.path.join(work, "flash-held-pop3.bin")
    if os.path.exists(flash):
        os.remove(flash)
    cyrus = CyrusFixture(os.path.join(work, "cyrus"), users=1, messages=4, unseen=3, folders=["INBOX"],
                         pki_root=os.path.dirname(pki))
    qemu = None
    with srv, cyrus:
        cpw = cyrus.users[USER]
        with private_file(cfg) as f:
            f.write(f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 5\nca {facts['ca']}\n"
                    f"account pop3s://victim@localhost:{srv.port} not-checked-by-this-server\n"
                    f"account imaps://{USER}@localhost:{cyrus.ports['imaps']}/INBOX {cpw}\n"
                    f"account pop3s://{USER}@localhost:{cyrus.ports['pop3s']} {cpw}\n")
        try:
            qemu = Qemu(elf, cfg, flash, os.path.join(work, "trace6.log"), http_port)
            qemu.wait_for(r"^check pop3-0 ok .* new=0 ", 0, 60)
            uids += [b"c", b"d"]
            qemu.wait_for(r"^NEW pop3-0 2$", 0, 30)
            uidl.hold.set()
            expect(uidl.paused.wait(30), "a check of the notifier stops half-way through its listing")
            code, hdrs, _ = http(http_port, "GET", "/status.json")
            code, _, _ = http(http_port, "POST", "/ack", f"csrf={hdrs.get('X-CSRF-Token', '')}")
            expect(code == 200, "acknowledged through POST /ack while the listing is held")
            mark, _ = qemu.wait_for(r"^ack: new mail acknowledged", 0, 10)
            uidl.release.set()
            i, m = qemu.wait_for(r"^check pop3-0 ok .* new=(\d+) ", mark, 30)
            expect(m.group(1) == "0" and not qemu.grep(r"^NEW ", mark),
                   f"the check that ends after the acknowledge finds nothing new: {qemu.lines[i]}")
            uids.append(b"e")
            qemu.wait_for(r"^NEW pop3-0 1$", mark, 30)
            log("ok: mail listed after the acknowledge is new and announced once")
            expect(not srv.errors, f"the POP3 server script ran without errors: {srv.errors}")
            cyrus_accounts(qemu, cyrus, http_port)
        except BaseException:
            if qemu:
                qemu.stop()
            raise
    return qemu


def cyrus_accounts(qemu, cyrus, http_port):
    """IMAPS (imap-1) and POP3S (pop3-2) on Cyrus: its counts, then one LMTP delivery announced
    once by each. Before issue 20's fix every IMAP check on Cyrus failed ("unexpected reply")."""
    want = cyrus.counts(USER)
    i, _ = qemu.wait_for(r"^check imap-1 (ok|failed)", 0, 60)
    imap = parse_kv(qemu.lines[i])
    expect(qemu.lines[i].startswith("check imap-1 ok ") and
           (int(imap["messages"]), int(imap["unseen"]), int(imap["uidnext"])) ==
           (want["messages"], want["unseen"], want["uidnext"]),
           f"Cyrus IMAPS counts match Cyrus's own: {qemu.lines[i]}")
    i, _ = qemu.wait_for(r"^check pop3-2 (ok|failed)", 0, 60)
    pop = parse_kv(qemu.lines[i])
    expect(qemu.lines[i].startswith("check pop3-2 ok ") and int(pop["messages"]) == want["messages"],
           f"Cyrus POP3S counts match Cyrus's own: {qemu.lines[i]}")
    st = {a["name"]: a for a in fetch_json(http_port)["accounts"]}
    expect(st["imap-1"]["state"] == "ok" and st["imap-1"]["unseen"] == want["unseen"],
           "/status.json shows the Cyrus IMAPS account with Cyrus's unseen count")
    mark = qemu.mark()
    cyrus.deliver(USER, subject="e2e cyrus")
    qemu.wait_for(r"^NEW imap-1 1$", mark, 60)
    qemu.wait_for(r"^NEW pop3-2 1$", mark, 60)
    expect(len(qemu.grep(r"^NEW (imap-1|pop3-2) ", mark)) == 2, "each Cyrus account announced the delivery once")


CHAIN_MESSAGES = 700  # a POP3 listing of about 15 KB: records over 8 KB from tlsfront


def provider_chains(elf, work, http_port):
    """Every chain shape over IMAPS and over POP3S through tlsfront; figures for the README."""
    shapes = chains.ensure()
    fxdir = os.path.join(work, "fx-chains")
    facts = json.loads(mailfix("start", "--dir", fxdir, "--users", "1", "--messages", str(CHAIN_MESSAGES),
                               "--unseen", "3"))
    fronts, qemu = [], None
    flog = os.path.join(work, "tlsfront.log")
    open(flog, "w").close()
    try:
        ports = {}
        for name, shape in shapes.items():
            ports[name] = {"imaps": free_port(), "pop3s": free_port()}
            fronts.append(chains.TlsFront(shape, {ports[name]["imaps"]: facts["ports"]["imap"],
                                                  ports[name]["pop3s"]: facts["ports"]["pop3"]}, flog))
        want = json.loads(mailfix("counts", "--dir", fxdir, "--user", USER))
        pw = facts["users"][0]["password"]
        figures = {}
        for proto in ("imaps", "pop3s"):
            cfg = os.path.join(work, f"notifier-chains-{proto}.cfg")
            flash = os.path.join(work, f"flash-chains-{proto}.bin")
            if os.path.exists(flash):
                os.remove(flash)
            with private_file(cfg) as f:
                f.write(f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 300\nca {chains.roots_pem()}\n")
                for name in shapes:
                    path = "/INBOX" if proto == "imaps" else ""
                    f.write(f"account {proto}://{USER}@localhost:{ports[name][proto]}{path} {pw}\n")
            qemu = Qemu(elf, cfg, flash, os.path.join(work, f"trace-chains-{proto}.log"), http_port)
            _, m = qemu.wait_for(r"mbedTLS pool (\d+) bytes", 0, 30)
            pool = int(m.group(1))
            label = "imap" if proto == "imaps" else "pop3"
            for i, name in enumerate(shapes):
                k, _ = qemu.wait_for(rf"^check {label}-{i} (ok|failed)", 0, 120)
                line = qemu.lines[k]
                expect(line.startswith(f"check {label}-{i} ok "), f"{proto} {name}: {line}")
                c = parse_kv(line)
                expect(c["messages"] == str(want["messages"]) and c["tls"] == "TLSv1.3"
                       and (c.get("unseen") == str(want["unseen"]) if proto == "imaps" else c["uids"] == c["messages"]),
                       f"{proto} {name}: Dovecot's counts over TLS 1.3 ({line})")
                peak, stack = int(c["heap_peak"]), int(c["stack_peak"])
                expect(peak < pool and stack < 8192, f"{proto} {name}: pool peak {peak} of {pool}, stack {stack} of 8192")
                figures.setdefault(name, {})[proto] = (peak, stack, int(c["handshake_ms"]))
            _, m = qemu.wait_for(r"^mem: tls pool peak (\d+) of (\d+) bytes, stack peak (\d+) of (\d+)", 0, 10)
            expect(int(m.group(1)) < int(m.group(2)) and int(m.group(3)) < int(m.group(4)),
                   f"the UART's memory line is within budget: {m.group(0)}")
            # An RSA trust anchor caches a value on its first use (R^2 mod N); after that every
            # check must end where the one before ended.
            grew = qemu.grep(r"tls heap: .* more in use")
            expect(len(grew) <= 1 and all(int(re.search(r": (\d+) bytes", g).group(1)) <= 4096 // 8 + 64 for g in grew),
                   f"no TLS heap leak across the checks (only the RSA-4096 anchor's cache): {grew}")
            qemu.stop()
            qemu = None
        conns = chains.parse_log(flog)
        log("| chain | certificates | chain bytes | pool peak IMAPS / POP3S | stack peak | server bytes (IMAPS) "
            "| largest record | handshake ms in QEMU (emulator) |")
        for name, shape in shapes.items():
            (ci,) = [c for c in conns.values() if c["port"] == ports[name]["imaps"]]
            (cp,) = [c for c in conns.values() if c["port"] == ports[name]["pop3s"]]
            biggest = max(n for _, n in ci["records"])
            expect(biggest >= shape["bytes"], f"{name}: the chain went out in one record ({biggest} B)")
            if shape["bytes"] > 4096:
                expect(biggest - 17 > 4096, f"{name}: a record over 4 KB reached the notifier")
            listing = max(n for t, n in cp["records"] if t == 23)
            expect(8192 < listing <= 16384 + 256, f"{name}: the POP3 listing came in records over 8 KB ({listing} B)")
            (pi, si, hi), (pp, sp, hp) = figures[name]["imaps"], figures[name]["pop3s"]
            log(f"| {name} | {shape['certs']} | {shape['bytes']} | {pi} / {pp} | {max(si, sp)} | {ci['out']} "
                f"| {biggest} | {hi} / {hp} |")
    finally:
        if qemu:
            qemu.stop()
        for f in fronts:
            f.stop()
        subprocess.run([sys.executable, MAILFIX, "stop", "--dir", fxdir], timeout=60)


def main():
    global BOARD
    args = sys.argv[1:]
    if len(args) == 4 and args[2] == "--board" and args[3] in BOARDS:
        BOARD = BOARDS[args[3]]
        args = args[:2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    elf, work = args

    def on_term(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    size_report = os.path.join(ROOT, "scripts", "size-report")
    r = subprocess.run([sys.executable, size_report, elf], capture_output=True, text=True)
    print(r.stdout, end="", flush=True)
    try:
        return run(elf, work)
    except Fail as e:
        log(f"FAIL: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 1


if __name__ == "__main__":
    sys.exit(main())
