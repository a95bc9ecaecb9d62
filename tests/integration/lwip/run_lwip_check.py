#!/usr/bin/env python3
"""`tinybiff check --net lwip` for real: lwIP (the firmware's stack, NO_SYS=1) runs inside the
tinybiff process on a TAP device, in a throwaway network namespace with a real Dovecot.

Layout inside namespace tinybiff-<pid> (nothing else is reachable from it: the namespace has
only lo and tap0, no default route; addresses are TEST-NET-1 192.0.2.0/24 and loopback):

    tinybiff + lwIP 192.0.2.2 --tap0-- kernel 192.0.2.1 -- forwarder -- Dovecot 127.0.0.1
                                                        -- DNS responder (UDP 53, this script)

The fixture's Dovecot listens on loopback only (mailfix.py has no listen-address option), so a
small TCP forwarder in this script relays 192.0.2.1:<port> to 127.0.0.1:<port>. The server
certificate names localhost/127.0.0.1; TINYBIFF_LWIP_HOSTS=localhost=192.0.2.1 lets the URL say
localhost, so the certificate is verified as usual. A second name, mail.test, goes through lwIP's
own DNS client to the responder here, and a check under that name must fail TLS verification.

Needs root, /dev/net/tun and `ip netns`; without them it exits 77 (ctest SKIP), saying why.
The namespace is always deleted, and every process left in it is killed first.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))

BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(ROOT, "build", "host", "bin")), "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(ROOT, "build", "host", "fixtures"))
SKIP = 77
TAP = "tap0"
KERNEL_ADDR = "192.0.2.1"
LWIP_ADDR = "192.0.2.2"
NOBODY_ADDR = "192.0.2.77"  # on-link, never answers ARP
DNS_NAME = "mail.test"


def skip(why):
    print(f"SKIP: lwIP-on-TAP test not run: {why}", file=sys.stderr, flush=True)
    sys.exit(SKIP)


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


# ------------------------------------------------------------------ outside the namespace

def outer():
    if os.geteuid() != 0:
        skip("needs root (ip netns, ip tuntap)")
    if not shutil.which("ip"):
        skip("iproute2 'ip' not found")
    if not os.path.exists("/dev/net/tun"):
        skip("/dev/net/tun does not exist")
    if not os.access(BIN, os.X_OK):
        print(f"FAIL: {BIN} not built", file=sys.stderr)
        return 1
    ns = f"tinybiff-{os.getpid()}"
    r = sh("ip", "netns", "add", ns, check=False)
    if r.returncode != 0:
        skip(f"cannot create a network namespace: {r.stderr.strip()}")

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        ex = ["ip", "netns", "exec", ns]
        sh(*ex, "ip", "link", "set", "lo", "up")
        r = sh(*ex, "ip", "tuntap", "add", "dev", TAP, "mode", "tap", check=False)
        if r.returncode != 0:
            skip(f"cannot create a TAP device: {r.stderr.strip()}")
        sh(*ex, "ip", "addr", "add", f"{KERNEL_ADDR}/24", "dev", TAP)
        sh(*ex, "ip", "link", "set", TAP, "up")
        # The kernel would otherwise chatter IPv6 (router solicitations) at lwIP; harmless, but
        # the frame counts are easier to read without it.
        sh(*ex, "sysctl", "-q", "-w", f"net.ipv6.conf.{TAP}.disable_ipv6=1", check=False)
        env = dict(os.environ, TINYBIFF_NETNS=ns)
        p = subprocess.run([*ex, sys.executable, os.path.abspath(__file__), "--inner"], env=env, timeout=280)
        return p.returncode
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Anything still running in our namespace was started by this test: end it by pid.
        pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        if pids:
            print(f"lwip test: killed {len(pids)} leftover process(es) in {ns}", file=sys.stderr)
        r = sh("ip", "netns", "del", ns, check=False)
        if r.returncode != 0:
            print(f"lwip test: could not delete namespace {ns}: {r.stderr.strip()}", file=sys.stderr)


# ------------------------------------------------------------------ inside the namespace

class Forwarder:
    """Relays KERNEL_ADDR:port to 127.0.0.1:port, where the fixture's Dovecot listens."""

    def __init__(self, ports):
        self.socks = []
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((KERNEL_ADDR, port))
            s.listen(8)
            self.socks.append(s)
            threading.Thread(target=self._accept, args=(s, port), daemon=True).start()

    def _accept(self, s, port):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._relay, args=(c, u), daemon=True).start()

    @classmethod
    def _relay(cls, c, u):
        back = threading.Thread(target=cls._pipe, args=(u, c), daemon=True)
        back.start()
        cls._pipe(c, u)
        back.join()
        c.close()
        u.close()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s, how in ((b, socket.SHUT_WR), (a, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def close(self):
        for s in self.socks:
            s.close()


class DnsResponder:
    """Answers A queries for DNS_NAME with KERNEL_ADDR, NXDOMAIN for everything else."""

    def __init__(self):
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((KERNEL_ADDR, 53))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                return
            if len(q) < 17:
                continue
            qid, = struct.unpack("!H", q[:2])
            i, labels = 12, []
            while i < len(q) and q[i] != 0:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            qtype, _qclass = struct.unpack("!HH", q[i + 1:i + 5])
            question = q[12:i + 5]
            name = ".".join(labels).lower()
            self.queries.append((name, qtype))
            if name == DNS_NAME and qtype == 1:
                answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(KERNEL_ADDR)
                hdr = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
            elif name == DNS_NAME:
                answer, hdr = b"", struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0)
            else:
                answer, hdr = b"", struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0)
            self.sock.sendto(hdr + question + answer, peer)

    def close(self):
        self.sock.close()


class LwipCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from mailfix import MailFixture
        cls.fx = MailFixture(dir=os.path.join(WORK, "lwip-check"), users=2, messages=6, unseen=3,
                             folders=["INBOX", "Archive"], folder_messages=3, folder_unseen=1)
        cls.fx.start()
        # A second server that speaks TLS 1.2 at most: the lwIP path negotiates that too.
        cls.fx12 = MailFixture(dir=os.path.join(WORK, "lwip-check-tls12"), users=1, messages=4, unseen=2,
                               tls_max="TLSv1.2")
        cls.fx12.start()
        cls.fwd = Forwarder([cls.fx.ports[k] for k in ("imap", "imaps", "pop3", "pop3s")]
                            + [cls.fx12.ports[k] for k in ("imaps", "pop3s")])
        cls.dns = DnsResponder()

    @classmethod
    def tearDownClass(cls):
        cls.fwd.close()
        cls.dns.close()
        cls.fx12.stop()
        cls.fx.stop()

    def tinybiff(self, *args, user="user1", expect_rc=0, timeout=20, hosts=True, fx=None):
        fx = fx or self.fx
        secret = fx.users[user]
        env = dict(os.environ, TINYBIFF_PASSWORD=secret, TINYBIFF_TAP=TAP,
                   TINYBIFF_LWIP_ADDR=f"{LWIP_ADDR}/24", TINYBIFF_LWIP_DNS=KERNEL_ADDR,
                   TINYBIFF_LWIP_STATS="1")
        if hosts:
            env["TINYBIFF_LWIP_HOSTS"] = f"localhost={KERNEL_ADDR}"
        t0 = time.monotonic()
        r = subprocess.run([BIN, "check", "--net", "lwip", "--ca", fx.ca, "--timeout", str(timeout), *args],
                           capture_output=True, text=True, env=env, timeout=timeout * 3 + 10)
        self.elapsed = time.monotonic() - t0
        self.stderr = r.stderr
        self.assertNotIn(secret, r.stdout + r.stderr, "a secret leaked into the output")
        self.assertEqual(r.returncode, expect_rc, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        return [json.loads(line) for line in r.stdout.splitlines()]

    def url(self, scheme, user, host="localhost", path=""):
        return f"{scheme}://{user}@{host}:{self.fx.ports[scheme]}{path}"

    def assert_imap(self, line, user, folder):
        want = self.fx.counts(user, folder)
        self.assertTrue(line["ok"], line)
        for k in ("messages", "unseen", "uidnext", "uidvalidity"):
            self.assertEqual(line[k], want[k], f"{k} for {user}/{folder}: {line}")

    def test_0_namespace_is_closed(self):
        links = sh("ip", "-o", "link").stdout
        names = sorted(ln.split(":")[1].strip().split("@")[0] for ln in links.splitlines())
        self.assertEqual(names, sorted(["lo", TAP]), links)
        routes = sh("ip", "-4", "route", "show", "table", "all").stdout
        self.assertNotIn("default", routes, routes)

    def test_imaps_and_pop3s_counts(self):
        for user in self.fx.users:
            lines = self.tinybiff(self.url("imaps", user, path="/INBOX"), self.url("pop3s", user), user=user)
            self.assertEqual(len(lines), 2, lines)
            self.assert_imap(lines[0], user, "INBOX")
            self.assertTrue(lines[1]["ok"], lines[1])
            self.assertEqual(lines[1]["messages"], self.fx.counts(user)["messages"])
            for line in lines:
                self.assertTrue(line.get("tls", "").startswith("TLSv1."), line)
            self.assertIn("lwIP link:", self.stderr)  # it really went through lwIP
            print(f"\n  {user}: {self.stderr.strip()}", file=sys.stderr)

    def test_second_check_resumes_tls(self):
        url = self.url("imaps", "user2", path="/INBOX")
        first, second = self.tinybiff(url, url, user="user2")
        self.assertFalse(first.get("tls_resumed"), first)
        self.assertTrue(second.get("tls_resumed"), second)
        self.assert_imap(second, "user2", "INBOX")

    def test_tls12_server(self):
        fx = self.fx12
        lines = self.tinybiff(f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX",
                              f"pop3s://user1@localhost:{fx.ports['pop3s']}", fx=fx)
        want = fx.counts("user1", "INBOX")
        imap, pop = lines
        self.assertEqual((imap["tls"], pop["tls"]), ("TLSv1.2", "TLSv1.2"), lines)
        for k in ("messages", "unseen", "uidnext", "uidvalidity"):
            self.assertEqual(imap[k], want[k], f"{k}: {imap}")
        self.assertEqual(pop["messages"], want["messages"], pop)

    def test_starttls_and_stls(self):
        lines = self.tinybiff(self.url("imap", "user2", path="/Archive"), self.url("pop3", "user2"), user="user2")
        self.assert_imap(lines[0], "user2", "Archive")
        self.assertEqual(lines[1]["messages"], self.fx.counts("user2")["messages"])
        for line in lines:
            self.assertIn("tls", line)

    def test_delivery_is_seen(self):
        before = self.tinybiff(self.url("imaps", "user1", path="/INBOX"))[0]
        self.fx.deliver("user1", subject="over lwIP")
        after = self.tinybiff(self.url("imaps", "user1", path="/INBOX"))[0]
        self.assertEqual(after["messages"], before["messages"] + 1)
        self.assertEqual(after["unseen"], before["unseen"] + 1)
        self.assert_imap(after, "user1", "INBOX")

    def test_lwip_dns_resolves(self):
        # Plaintext on purpose: mail.test is not in the certificate; this is about lwIP's DNS.
        lines = self.tinybiff("--security", "none", self.url("imap", "user1", host=DNS_NAME, path="/INBOX"),
                              hosts=False)
        self.assert_imap(lines[0], "user1", "INBOX")
        self.assertIn((DNS_NAME, 1), self.dns.queries)

    def test_certificate_name_is_verified(self):
        (line,) = self.tinybiff(self.url("imaps", "user1", host=DNS_NAME, path="/INBOX"), hosts=False, expect_rc=1)
        self.assertFalse(line["ok"])
        self.assertEqual(line["error"], "tls", line)

    def test_unknown_name(self):
        (line,) = self.tinybiff(self.url("imaps", "user1", host="nx.test", path="/INBOX"), expect_rc=1)
        self.assertEqual(line["error"], "network", line)
        self.assertIn("resolve", line["detail"], line)

    def test_refused_port(self):
        (line,) = self.tinybiff(f"imaps://user1@{KERNEL_ADDR}:1/INBOX", expect_rc=1)
        self.assertEqual(line["error"], "network", line)
        self.assertIn("refused", line["detail"], line)

    def test_silent_host_times_out(self):
        (line,) = self.tinybiff(f"imaps://user1@{NOBODY_ADDR}:993/INBOX", timeout=2, expect_rc=1)
        self.assertEqual(line["error"], "network", line)
        self.assertIn("timed out", line["detail"], line)
        self.assertLess(self.elapsed, 8, "the deadline was not kept")


def inner():
    prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(inner() if "--inner" in sys.argv[1:] else outer())
