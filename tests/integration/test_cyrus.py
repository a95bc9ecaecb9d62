#!/usr/bin/env python3
"""tinybiff against a real Cyrus IMAP 3.6 (tests/fixture/cyrusfix.py), one instance for the run:
`tinybiff check` over imaps://, imap:// (STARTTLS), pop3s:// and pop3:// (STLS) with PLAIN,
LOGIN and the default mechanism must give Cyrus's own numbers; the daemon's IDLE must bring a
message delivered through Cyrus's LMTP to /status.json within 2 s.

Cyrus loses commands pipelined behind AUTHENTICATE (issue 20): before the fix every IMAP check
here failed with "protocol: unexpected reply"."""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from cyrusfix import CyrusFixture  # noqa: E402
from daemonfix import Daemon  # noqa: E402

BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin")), "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
MECHS = ("", ";AUTH=PLAIN", ";AUTH=LOGIN")  # "" = the default: the best the server offers


class CyrusTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = CyrusFixture(os.path.join(WORK, "cyrus"), users=3, messages=6, unseen=2,
                              folders=["INBOX", "Archive"], folder_messages=3, folder_unseen=1)
        cls.fx.start()

    @classmethod
    def tearDownClass(cls):
        cls.fx.stop()

    def tinybiff(self, *urls, user="user1", expect_rc=0):
        pw = self.fx.users[user]
        r = subprocess.run([BIN, "check", "--timeout", "20", "--ca", self.fx.ca, *urls], capture_output=True,
                           text=True, env=dict(os.environ, TINYBIFF_PASSWORD=pw), timeout=120)
        self.assertNotIn(pw, r.stdout + r.stderr, "a secret leaked into the output")
        self.assertEqual(r.returncode, expect_rc, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        return [json.loads(line) for line in r.stdout.splitlines()]

    def url(self, scheme, user, mech="", path=""):
        return f"{scheme}://{user}{mech}@localhost:{self.fx.ports[scheme]}{path}"

    def test_imap_every_mechanism_tls_and_starttls(self):
        user = "user2"
        urls = [self.url(s, user, m, f) for s in ("imaps", "imap") for m in MECHS for f in ("/INBOX", "/Archive")]
        lines = self.tinybiff(*urls, user=user)
        self.assertEqual(len(lines), len(urls))
        for url, line in zip(urls, lines):
            folder = url.rsplit("/", 1)[1]
            want = self.fx.counts(user, folder)
            self.assertTrue(line["ok"], f"{url}: {line}")
            self.assertEqual(line["tls"], "TLSv1.3", line)  # imap:// went through STARTTLS
            for k in ("messages", "unseen", "uidnext", "uidvalidity"):
                self.assertEqual(line[k], want[k], f"{k} for {url}: {line}")
            # Cyrus lists CONDSTORE only after login: AUTHENTICATE's tagged OK (default, PLAIN)
            # and, after STARTTLS, CAPABILITY carry it. Over imaps:// LOGIN's one flight goes
            # out before any list with CONDSTORE arrived.
            if ";AUTH=LOGIN" in url and url.startswith("imaps"):
                self.assertNotIn("highestmodseq", line, line)
            else:
                self.assertEqual(line.get("highestmodseq"), want["highestmodseq"], f"{url}: {line}")

    def test_pop3_every_mechanism_tls_and_stls(self):
        user = "user3"
        urls = [self.url(s, user, m) for s in ("pop3s", "pop3") for m in MECHS]
        lines = self.tinybiff(*urls, user=user)
        want = self.fx.counts(user)
        self.assertEqual(len(lines), len(urls))
        for url, line in zip(urls, lines):
            self.assertTrue(line["ok"], f"{url}: {line}")
            self.assertEqual(line["tls"], "TLSv1.3", line)
            self.assertEqual((line["messages"], line["uids"]), (want["messages"], want["messages"]), line)

    def test_wrong_password_is_auth_failed(self):
        r = subprocess.run([BIN, "check", "--timeout", "20", "--ca", self.fx.ca, self.url("imaps", "user1", "", "/INBOX"),
                            self.url("pop3s", "user1")], capture_output=True, text=True,
                           env=dict(os.environ, TINYBIFF_PASSWORD="not-the-password"), timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for line in map(json.loads, r.stdout.splitlines()):
            self.assertEqual(line["error"], "auth_failed", line)

    def test_daemon_idle_delivery(self):
        accounts = [("idle", self.url("imaps", "user1", "", "/INBOX"), {"idle": "1"}),
                    ("poll", self.url("imap", "user1", ";AUTH=LOGIN", "/INBOX"), {"idle": "0"}),
                    ("pop", self.url("pop3s", "user1"), {})]
        with Daemon(os.path.join(self.fx.dir, "daemon"), self.fx, accounts) as d:
            d.wait_for(lambda s: all(a["last_check"] for a in s["accounts"]), 20, "first checks")
            want = self.fx.counts("user1")
            st = {a["name"]: a for a in d.status()["accounts"]}
            for name in ("idle", "poll"):
                self.assertEqual((st[name]["state"], st[name]["unseen"]), ("ok", want["unseen"]), st[name])
            self.assertEqual(st["pop"]["unseen"], want["messages"], st["pop"])
            # IDLE is in Cyrus's capabilities only after login
            d.wait_for(lambda s: "idling on INBOX" in d.read_log(), 10, "IDLE")
            self.fx.deliver("user1", subject="idle on cyrus")
            took = d.wait_for(lambda s: [a for a in s["accounts"] if a["name"] == "idle"][0]["new"] == 1,
                              2.0, "IDLE delivery")
            print(f"Cyrus: IDLE delivery reached /status.json after {took:.2f} s")
            self.assertNotIn(self.fx.users["user1"], d.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
