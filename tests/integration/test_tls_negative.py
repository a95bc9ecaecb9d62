#!/usr/bin/env python3
"""TLS and STARTTLS failures end with a clear error class and text, never with credentials
sent in clear, and within the timeout. Real Dovecot where it can play the part; the hostile
server (real sockets) for what no real server does."""
import base64
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
from mailfix import MailFixture  # noqa: E402
from hostile import HostileServer  # noqa: E402
import responders  # noqa: E402

BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin")), "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
SECRET = "hostile-test-secret-31337"


def check(*args, timeout=10, password=SECRET):
    env = dict(os.environ, TINYBIFF_PASSWORD=password)
    t0 = time.monotonic()
    r = subprocess.run([BIN, "check", "--timeout", str(timeout), *args], capture_output=True, text=True,
                       env=env, timeout=timeout + 30)
    elapsed = time.monotonic() - t0
    assert password not in r.stdout + r.stderr, "secret leaked into output"
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    return r.returncode, lines, elapsed


def spki_pin(cert):
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", cert], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, capture_output=True,
                         check=True).stdout
    import hashlib
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


class CertificateFailures(unittest.TestCase):
    """Dovecot serving certificates that must be refused."""

    def run_with_cert(self, kind, want_text):
        with MailFixture(dir=os.path.join(WORK, f"tls-{kind}"), users=1, messages=1, unseen=1, cert=kind) as fx:
            pw = fx.users["user1"]
            for url in (f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX",
                        f"pop3s://user1@localhost:{fx.ports['pop3s']}",
                        f"imap://user1@localhost:{fx.ports['imap']}/INBOX"):
                rc, lines, _ = check("--ca", fx.ca, url, password=pw)
                self.assertEqual(rc, 1)
                self.assertEqual(lines[0]["error"], "tls", lines)
                self.assertIn(want_text, lines[0]["detail"])
            # Nothing reached the login stage: Dovecot logged no authentication attempt.
            with open(fx.log, errors="replace") as f:
                log = f.read()
            self.assertNotIn("Login: user=<user1>", log)

    def test_unknown_ca(self):
        self.run_with_cert("selfsigned", "not issued by a trusted CA")

    def test_wrong_hostname(self):
        self.run_with_cert("wronghost", "another host name")

    def test_expired(self):
        self.run_with_cert("expired", "expired")


class Pinning(unittest.TestCase):
    def test_pin_match_and_mismatch(self):
        with MailFixture(dir=os.path.join(WORK, "tls-pin"), users=1, messages=2, unseen=1) as fx:
            pw = fx.users["user1"]
            url = f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX"
            good = spki_pin(fx.pki.cert("good"))
            rc, lines, _ = check("--ca", fx.ca, "--pin", good, url, password=pw)
            self.assertEqual(rc, 0, lines)
            self.assertEqual(lines[0]["messages"], 2)
            wrong = "sha256/" + base64.b64encode(bytes(32)).decode()
            rc, lines, _ = check("--ca", fx.ca, "--pin", wrong, url, password=pw)
            self.assertEqual(rc, 1)
            self.assertEqual(lines[0]["error"], "tls")
            self.assertIn("pin", lines[0]["detail"])

    def test_bad_pin_argument(self):
        r = subprocess.run([BIN, "check", "--pin", "md5/abc", "imaps://u@localhost/"], capture_output=True,
                           text=True, env=dict(os.environ, TINYBIFF_PASSWORD="x"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--pin", r.stderr)


class HostileTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Reuse the fixture's PKI (openssl-made test CA and server key) without starting Dovecot.
        cls.fx = MailFixture(dir=os.path.join(WORK, "tls-hostile-pki"), users=1)
        cls.fx.pki.ensure()
        cls.cert, cls.key, cls.ca = cls.fx.pki.cert("good"), cls.fx.pki.key("good"), cls.fx.ca

    def server(self, scenario, implicit=False):
        return HostileServer(scenario, tls_cert=self.cert, tls_key=self.key, implicit_tls=implicit)

    def test_imap_without_starttls_sends_no_credentials(self):
        def scenario(peer):
            peer.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] no tls here\r\n")
            responders.imap_serve(peer, caps=b"IMAP4rev1 AUTH=PLAIN SASL-IR")
        with self.server(scenario) as srv:
            rc, lines, _ = check("--ca", self.ca, f"imap://user1@localhost:{srv.port}/INBOX")
        self.assertEqual(rc, 1)
        self.assertEqual(lines[0]["error"], "tls", lines)
        self.assertIn("STARTTLS", lines[0]["detail"])
        self.assertNotIn(b"AUTHENTICATE", srv.received)
        self.assertNotIn(b"LOGIN", srv.received)
        self.assertNotIn(base64.b64encode(b"\0user1\0" + SECRET.encode()), srv.received)

    def test_pop3_without_stls_sends_no_credentials(self):
        def scenario(peer):
            peer.send(b"+OK no tls here\r\n")
            while True:
                line = peer.recv_line()
                if line.upper().startswith(b"CAPA"):
                    peer.send(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n")
                elif line.upper().startswith(b"QUIT"):
                    peer.send(b"+OK\r\n")
                    return
                else:
                    peer.send(b"-ERR no\r\n")
        with self.server(scenario) as srv:
            rc, lines, _ = check("--ca", self.ca, f"pop3://user1@localhost:{srv.port}")
        self.assertEqual(rc, 1)
        self.assertEqual(lines[0]["error"], "tls", lines)
        self.assertNotIn(b"PASS", srv.received)
        self.assertNotIn(SECRET.encode(), srv.received)

    def test_imap_starttls_injection_has_no_effect(self):
        # CVE-2021-22947 style: bytes after the STARTTLS OK, in the same segment, must be dropped.
        def scenario(peer):
            peer.send(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n")
            while True:
                line = peer.recv_line()
                tag = line.split(b" ")[0]
                if b"STARTTLS" in line.upper():
                    peer.send(tag + b" OK begin TLS\r\n* STATUS INBOX (MESSAGES 999 UNSEEN 999 UIDNEXT 999 "
                              b"UIDVALIDITY 9)\r\nA2 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
                    peer.start_tls()
                    responders.imap_serve(peer)
                    return
                if b"CAPABILITY" in line.upper():
                    peer.send(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" + tag + b" OK\r\n")
                else:
                    peer.send(tag + b" BAD\r\n")
        with self.server(scenario) as srv:
            rc, lines, _ = check("--ca", self.ca, f"imap://user1@localhost:{srv.port}/INBOX")
        self.assertEqual(rc, 0, lines)
        self.assertEqual((lines[0]["messages"], lines[0]["unseen"], lines[0]["uidnext"]), (3, 1, 4))
        self.assertEqual(lines[0]["tls"], "TLSv1.3")

    def test_pop3_stls_injection_has_no_effect(self):
        def scenario(peer):
            peer.send(b"+OK ready\r\n")
            while True:
                line = peer.recv_line().upper()
                if line.startswith(b"CAPA"):
                    peer.send(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n")
                elif line.startswith(b"STLS"):
                    peer.send(b"+OK begin TLS\r\n+OK 999 99999\r\n")
                    peer.start_tls()
                    responders.pop3_serve(peer)
                    return
                else:
                    peer.send(b"-ERR no\r\n")
        with self.server(scenario) as srv:
            rc, lines, _ = check("--ca", self.ca, f"pop3://user1@localhost:{srv.port}")
        self.assertEqual(rc, 0, lines)
        self.assertEqual(lines[0]["messages"], 3)

    def test_close_mid_handshake(self):
        def scenario(peer):
            peer.sock.recv(100)  # part of the ClientHello, then hang up
            peer.close()
        with HostileServer(scenario) as srv:
            rc, lines, elapsed = check("--ca", self.ca, f"imaps://user1@localhost:{srv.port}/INBOX")
        self.assertEqual(rc, 1)
        self.assertEqual(lines[0]["error"], "tls", lines)
        self.assertIn("closed", lines[0]["detail"])
        self.assertLess(elapsed, 5)

    def test_reset_mid_handshake(self):
        def scenario(peer):
            peer.sock.recv(100)
            peer.reset()
        with HostileServer(scenario) as srv:
            rc, lines, _ = check("--ca", self.ca, f"pop3s://user1@localhost:{srv.port}")
        self.assertEqual(rc, 1)
        self.assertIn(lines[0]["error"], ("network", "tls"), lines)

    def test_silent_server_times_out(self):
        def scenario(peer):
            peer.wait_closed(30)
        with HostileServer(scenario) as srv:
            for url in (f"imaps://user1@localhost:{srv.port}/INBOX", f"imap://user1@localhost:{srv.port}/INBOX",
                        f"pop3://user1@localhost:{srv.port}"):
                rc, lines, elapsed = check("--ca", self.ca, url, timeout=2)
                self.assertEqual(rc, 1)
                self.assertEqual(lines[0]["error"], "network", lines)
                self.assertRegex(lines[0]["detail"], "no answer|timed out")
                self.assertLess(elapsed, 6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
