#!/usr/bin/env python3
"""`tinybiff check` against a real Dovecot: counts must equal Dovecot's own (doveadm)."""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
from mailfix import MailFixture  # noqa: E402

BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin")), "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))


class CheckAgainstDovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = MailFixture(dir=os.path.join(WORK, "check-cli"), users=3, messages=7, unseen=3,
                             folders=["INBOX", "Archive", "Entwürfe"], folder_messages=4, folder_unseen=2)
        cls.fx.start()

    @classmethod
    def tearDownClass(cls):
        cls.fx.stop()

    def tinybiff(self, *args, user="user1", password=None, expect_rc=0):
        env = dict(os.environ, TINYBIFF_PASSWORD=password or self.fx.users[user])
        r = subprocess.run([BIN, "check", "--timeout", "20", *args], capture_output=True, text=True,
                           env=env, timeout=60)
        secret = password or self.fx.users[user]
        self.assertNotIn(secret, r.stdout + r.stderr, "a secret leaked into the output")
        self.assertEqual(r.returncode, expect_rc, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        return [json.loads(line) for line in r.stdout.splitlines()]

    def url(self, scheme, user, path=""):
        port = self.fx.ports[{"imap": "imap", "imaps": "imaps", "pop3": "pop3", "pop3s": "pop3s"}[scheme]]
        return f"{scheme}://{user}@localhost:{port}{path}"

    def assert_imap_matches(self, line, user, folder):
        want = self.fx.counts(user, folder)
        self.assertTrue(line["ok"], line)
        self.assertEqual(line["protocol"], "imap")
        self.assertEqual(line["folder"], folder)
        for k in ("messages", "unseen", "uidnext", "uidvalidity"):
            self.assertEqual(line[k], want[k], f"{k} for {user}/{folder}: {line}")

    def test_imap_plain_every_user_and_folder(self):
        for user in self.fx.users:
            lines = self.tinybiff("--security", "none", "--folder", "Archive", "--folder", "Entwürfe",
                                  self.url("imap", user, "/INBOX"), user=user)
            self.assertEqual(len(lines), 3)
            for line, folder in zip(lines, ["INBOX", "Archive", "Entwürfe"]):
                self.assert_imap_matches(line, user, folder)
                self.assertNotIn("new", line)  # "new" needs a state (--state) to compare with

    def test_pop3_plain_counts(self):
        for user in self.fx.users:
            (line,) = self.tinybiff("--security", "none", self.url("pop3", user), user=user)
            want = self.fx.counts(user, "INBOX")
            self.assertTrue(line["ok"], line)
            self.assertEqual(line["messages"], want["messages"])
            self.assertEqual(line["uids"], want["messages"])

    def test_delivery_mid_test_is_counted(self):
        before = self.tinybiff("--security", "none", self.url("imap", "user2", "/Entw%C3%BCrfe"), user="user2")[0]
        self.fx.deliver("user2", folder="Entwürfe", subject="mid-test")
        self.fx.deliver("user2", folder="INBOX", subject="mid-test")
        after = self.tinybiff("--security", "none", self.url("imap", "user2", "/Entw%C3%BCrfe"), user="user2")[0]
        self.assertEqual(after["messages"], before["messages"] + 1)
        self.assertEqual(after["unseen"], before["unseen"] + 1)
        self.assertEqual(after["uidnext"], before["uidnext"] + 1)
        self.assert_imap_matches(after, "user2", "Entwürfe")
        (pop,) = self.tinybiff("--security", "none", self.url("pop3", "user2"), user="user2")
        self.assertEqual(pop["messages"], self.fx.counts("user2", "INBOX")["messages"])

    def test_implicit_tls_and_starttls(self):
        lines = self.tinybiff("--ca", self.fx.ca, self.url("imaps", "user1", "/INBOX"), self.url("pop3s", "user1"),
                              self.url("imap", "user1", "/Archive"), self.url("pop3", "user1"))
        self.assertEqual(len(lines), 4)
        for line in lines:
            self.assertTrue(line["ok"], line)
            self.assertEqual(line["tls"], "TLSv1.3", line)
        self.assert_imap_matches(lines[0], "user1", "INBOX")
        self.assert_imap_matches(lines[2], "user1", "Archive")
        self.assertEqual(lines[1]["messages"], self.fx.counts("user1")["messages"])

    def test_wrong_password_is_auth_failed(self):
        for url in (self.url("imaps", "user1", "/INBOX"), self.url("pop3s", "user1")):
            (line,) = self.tinybiff("--ca", self.fx.ca, url, password="not-the-password", expect_rc=1)
            self.assertFalse(line["ok"])
            self.assertEqual(line["error"], "auth_failed", line)

    def test_unknown_folder_is_reported_per_folder(self):
        lines = self.tinybiff("--ca", self.fx.ca, "--folder", "NoSuchFolder", self.url("imaps", "user3", "/INBOX"),
                              user="user3", expect_rc=1)
        self.assertTrue(lines[0]["ok"])
        self.assertFalse(lines[1]["ok"])
        self.assertEqual(lines[1]["error"], "server_error")

    def test_bad_url_and_unreachable_port(self):
        # A password in a URL is refused, and the failure line shows the URL without it.
        state = os.path.join(self.fx.dir, "url-password.img")
        for url, shown in (("imaps://user1:url-pw-42@localhost/INBOX", "imaps://user1@localhost/INBOX"),
                           ("pop3s://user1:url/pw?42@localhost", "pop3s://user1@localhost")):
            r = subprocess.run([BIN, "check", "--state", state, url], capture_output=True, text=True,
                               env=dict(os.environ, TINYBIFF_PASSWORD="x"), timeout=60)
            self.assertEqual(r.returncode, 1)
            self.assertFalse("pw" in r.stdout + r.stderr, "the URL's password was echoed")
            line = json.loads(r.stdout)
            self.assertEqual((line["error"], line["account"]), ("config", shown))
        (line,) = self.tinybiff("--ca", self.fx.ca, "imaps://user1@127.0.0.1:1/INBOX", expect_rc=1)
        self.assertEqual(line["error"], "network")

    def test_second_check_resumes_tls_session(self):
        url = self.url("imaps", "user1", "/INBOX")
        first, second = self.tinybiff("--ca", self.fx.ca, url, url)
        self.assertFalse(first["tls_resumed"])
        self.assertTrue(second["tls_resumed"], second)  # no certificate was sent: a PSK resumption
        self.assertEqual(first["messages"], second["messages"])


class Tls12Only(unittest.TestCase):
    def test_tls12_server(self):
        with MailFixture(dir=os.path.join(WORK, "check-tls12"), users=1, messages=3, unseen=1,
                         tls_max="TLSv1.2") as fx:
            env = dict(os.environ, TINYBIFF_PASSWORD=fx.users["user1"])
            urls = [f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", f"pop3s://user1@localhost:{fx.ports['pop3s']}",
                    f"imap://user1@localhost:{fx.ports['imap']}/INBOX", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX"]
            r = subprocess.run([BIN, "check", "--ca", fx.ca, *urls], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            lines = [json.loads(x) for x in r.stdout.splitlines()]
            self.assertEqual([x["tls"] for x in lines], ["TLSv1.2"] * 4)
            self.assertEqual(lines[0]["messages"], fx.counts("user1")["messages"])
            self.assertTrue(lines[3]["tls_resumed"], lines[3])  # TLS 1.2 session ticket


if __name__ == "__main__":
    unittest.main(verbosity=2)
