#!/usr/bin/env python3
"""Provider-shaped certificate chains (tests/fixture/chains.py) served by a TLS front that ignores
max_fragment_length (tests/fixture/tlsfront) in front of Dovecot's plain ports.

- `tinybiff check` and the daemon verify every shape over IMAPS and POP3S with Dovecot's counts.
- The front's record log proves what went over the wire: each chain in one record (over 4 KB for
  the larger shapes) and a POP3 listing in records over 8 KB.
- tinybiff-smallpool (mbedTLS in a fixed 40 KB pool) reports "TLS memory exhausted", not an
  untrusted CA.
"""
import json
import os
import subprocess
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
import chains  # noqa: E402
from daemonfix import Daemon, free_port  # noqa: E402
from mailfix import MailFixture  # noqa: E402

BIN_DIR = os.environ.get("BIFF_BIN", os.path.join(ROOT, "build", "host", "bin"))
WORK = os.environ.get("BIFF_WORK", os.path.join(ROOT, "build", "host", "fixtures"))
MESSAGES = 700  # a POP3 UIDL listing of about 15 KB: one reply the front sends in large records
TLS13_OVERHEAD = 17  # content type + AEAD tag per TLS 1.3 record


class Chains(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shapes = chains.ensure()
        cls.dir = os.path.join(WORK, "chains")
        cls.fx = MailFixture(dir=cls.dir, users=1, messages=MESSAGES, unseen=3)
        cls.fx.start()
        cls.fronts = []
        try:
            cls.bundle = os.path.join(cls.dir, "ca-bundle.pem")
            with open(cls.bundle, "w") as f:
                for src in (cls.fx.ca, chains.roots_pem()):
                    with open(src) as s:
                        f.write(s.read())
            cls.log = os.path.join(cls.dir, "tlsfront.log")
            open(cls.log, "w").close()
            cls.ports = {}
            for name, shape in cls.shapes.items():
                imaps, pop3s = free_port(), free_port()
                cls.ports[name] = (imaps, pop3s)
                cls.fronts.append(chains.TlsFront(shape, {imaps: cls.fx.ports["imap"], pop3s: cls.fx.ports["pop3"]},
                                                  cls.log))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for f in cls.fronts:
            f.stop()
        cls.fx.stop()

    def urls(self, name):
        imaps, pop3s = self.ports[name]
        return [f"imaps://user1@localhost:{imaps}/INBOX", f"pop3s://user1@localhost:{pop3s}"]

    def check(self, *urls, exe="tinybiff", expect_rc=0):
        pw = self.fx.users["user1"]
        r = subprocess.run([os.path.join(BIN_DIR, exe), "check", "--stats", "--timeout", "30", "--ca", self.bundle,
                            *urls], capture_output=True, text=True, env=dict(os.environ, TINYBIFF_PASSWORD=pw),
                           timeout=120)
        self.assertNotIn(pw, r.stdout + r.stderr, "a secret leaked into the output")
        self.assertEqual(r.returncode, expect_rc, r.stdout + r.stderr)
        return [json.loads(x) for x in r.stdout.splitlines()]

    def conns_on(self, port):
        return [c for c in chains.parse_log(self.log).values() if c["port"] == port]

    def test_cli_every_shape(self):
        want = self.fx.counts("user1")
        for name in self.shapes:
            with self.subTest(shape=name):
                imap, pop = self.check(*self.urls(name))
                for line in (imap, pop):
                    self.assertTrue(line["ok"], line)
                    self.assertEqual(line["tls"], "TLSv1.3")
                    self.assertEqual(line["messages"], want["messages"], line)
                self.assertEqual(imap["unseen"], want["unseen"])
                self.assertEqual(imap["uidnext"], want["uidnext"])
                self.assertEqual(pop["uids"], want["messages"])
                print(f"{name}: chain {self.shapes[name]['bytes']} B in {self.shapes[name]['certs']} certificates, "
                      f"mbedTLS heap peak IMAPS {imap['tls_heap_peak']} B, POP3S {pop['tls_heap_peak']} B", flush=True)

    def test_records_on_the_wire(self):
        """What the front wrote: each chain in one record, and a listing in records over 8 KB."""
        open(self.log, "w").close()  # this test's connections only (the front appends)
        self.check(*[u for name in self.shapes for u in self.urls(name)])
        for name, shape in self.shapes.items():
            with self.subTest(shape=name):
                imaps, pop3s = self.ports[name]
                (c,) = self.conns_on(imaps)
                self.assertEqual(c["version"], "TLSv1.3")
                biggest = max(n for _, n in c["records"])
                # The Certificate message holds every certificate's DER plus its framing.
                self.assertGreaterEqual(biggest, shape["bytes"], f"{name}: the chain went out in one record")
                if shape["bytes"] > 4096:
                    self.assertGreater(biggest - TLS13_OVERHEAD, 4096, f"{name}: a record over 4 KB")
                (p,) = self.conns_on(pop3s)
                big = [n for t, n in p["records"] if t == 23 and n - TLS13_OVERHEAD > 8192]
                self.assertTrue(big and max(big) <= 16384 + 256, f"{name}: the POP3 listing in records over 8 KB: "
                                f"{sorted(n for _, n in p['records'])[-4:]}")
                print(f"{name}: IMAPS {c['out']} B from the server, largest record {biggest} B; POP3S largest "
                      f"record {max(big)} B", flush=True)

    def test_daemon_every_shape(self):
        accounts = []
        for name in self.shapes:
            imap, pop = self.urls(name)
            accounts += [(f"{name}-imap", imap, {}), (f"{name}-pop3", pop, {})]
        fx = types.SimpleNamespace(ca=self.bundle, users=self.fx.users)
        want = self.fx.counts("user1")
        with Daemon(os.path.join(self.dir, "daemon"), fx, accounts) as d:
            d.wait_for(lambda s: all(a["state"] in ("ok", "error") for a in s["accounts"]), 120,
                       "every account checked once")
            for a in d.status()["accounts"]:
                with self.subTest(account=a["name"]):
                    self.assertEqual(a["state"], "ok", a)
                    self.assertEqual(a["tls"], "TLSv1.3", a)
                    n = want["unseen"] if a["name"].endswith("-imap") else want["messages"]
                    self.assertEqual(a["folders"][0]["unseen"], n, a)

    def test_small_pool_reports_memory_not_ca(self):
        lines = self.check(*self.urls("rsa-xroot"), exe="tinybiff-smallpool", expect_rc=1)
        for line in lines:
            self.assertFalse(line["ok"])
            self.assertEqual(line["error"], "tls", line)
            # The pool holds the record buffers but not the chain's verification: where mbedTLS
            # says the chain is untrusted (-0x2700), the real cause is named.
            self.assertIn("TLS memory exhausted (pool 40960 bytes", line["detail"])
            self.assertIn("server Certificate", line["detail"])
            self.assertNotIn("CA", line["detail"])

    def test_small_pool_ca_bundle_over_the_pool(self):
        """A CA bundle that does not fit is a memory error too: anchors silently left out would
        make their servers look untrusted later."""
        with open(chains.roots_pem()) as f:
            roots = f.read()
        # x40: reading the file is over the pool; x6: the file is read, parsing the anchors is over it.
        for copies in (40, 6):
            with self.subTest(copies=copies):
                big = os.path.join(self.dir, f"bundle-{copies}.pem")
                with open(big, "w") as f:
                    f.write(roots * copies)
                pw = self.fx.users["user1"]
                r = subprocess.run([os.path.join(BIN_DIR, "tinybiff-smallpool"), "check", "--ca", big,
                                    self.urls("p256")[0]], capture_output=True, text=True,
                                   env=dict(os.environ, TINYBIFF_PASSWORD=pw), timeout=60)
                (line,) = [json.loads(x) for x in r.stdout.splitlines()]
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertEqual(line["error"], "tls", line)
                self.assertEqual(line["detail"], "TLS memory exhausted (pool 40960 bytes) loading the CA bundle")


if __name__ == "__main__":
    unittest.main(verbosity=2)
