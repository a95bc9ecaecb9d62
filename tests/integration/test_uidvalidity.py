#!/usr/bin/env python3
"""A mailbox recreated on the server (new UIDVALIDITY) re-bases the recorded UIDNEXT: for
`tinybiff check --state` and for the daemon, against a real Dovecot where doveadm deletes and
recreates the folder.

The history, per case: the first check records (UIDVALIDITY A, UIDNEXT 5) of a folder with 4
messages. The folder is recreated and 5 messages go in: (B, 6). That check must say new 0
(the old UIDs mean nothing under B; comparing 6 with the old 5 would give a false 1) and
re-base on (B, 6). One more message: (B, 7) must say new 1. Without the re-base the record
stays on A, every later STATUS differs in UIDVALIDITY and new mail stays silent (new 0) until an
acknowledge."""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mailfix import MailFixture  # noqa: E402
from daemonfix import Daemon  # noqa: E402

BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin")), "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
FOLDER = "Archive"


class UidvalidityChange(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = MailFixture(dir=os.path.join(WORK, "uidvalidity"), users=2, messages=2, unseen=1,
                             folders=["INBOX", FOLDER], folder_messages=4, folder_unseen=1)
        cls.fx.start()

    @classmethod
    def tearDownClass(cls):
        cls.fx.stop()

    def recreate_with(self, user, n):
        """Recreate the folder (new UIDVALIDITY) and put n messages in; returns its counts."""
        before = self.fx.counts(user, FOLDER)
        self.fx.recreate(user, FOLDER)
        for k in range(n):
            self.fx.deliver(user, folder=FOLDER, subject=f"after recreation {k}")
        after = self.fx.counts(user, FOLDER)
        self.assertNotEqual(after["uidvalidity"], before["uidvalidity"], "Dovecot kept the UIDVALIDITY")
        self.assertGreater(after["uidnext"], before["uidnext"])  # a stale baseline would see news
        return after

    def test_cli_state(self):
        user = "user1"
        state = os.path.join(self.fx.dir, "cli-state.img")
        if os.path.exists(state):
            os.unlink(state)
        url = f"imaps://{user}@localhost:{self.fx.ports['imaps']}/{FOLDER}"

        def check():
            r = subprocess.run([BIN, "check", "--timeout", "20", "--ca", self.fx.ca, "--state", state, url],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, TINYBIFF_PASSWORD=self.fx.users[user]))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            (line,) = [json.loads(x) for x in r.stdout.splitlines()]
            want = self.fx.counts(user, FOLDER)
            self.assertEqual((line["uidvalidity"], line["uidnext"]), (want["uidvalidity"], want["uidnext"]), line)
            return line

        first = check()
        self.assertEqual((first["messages"], first["uidnext"], first["new"]), (4, 5, 0))
        self.recreate_with(user, 5)
        line = check()
        self.assertEqual(line["new"], 0, f"old UIDs compared with a recreated mailbox's: {line}")
        self.fx.deliver(user, folder=FOLDER, subject="the one new message")
        line = check()
        self.assertEqual(line["new"], 1, f"new mail after the recreation is silent (no re-base): {line}")
        self.assertEqual(check()["new"], 1)  # not acknowledged: still new

    def test_daemon(self):
        user = "user2"
        d = Daemon(os.path.join(self.fx.dir, "daemon"), self.fx,
                   [("box", f"imaps://{user}@localhost:{self.fx.ports['imaps']}/{FOLDER}",
                     {"idle": "0", "interval": "1"})])
        if os.path.exists(d.state):
            os.unlink(d.state)

        def folder(st):
            return st["accounts"][0]["folders"][0]

        def wait_unseen(n, what):
            d.wait_for(lambda st: st["accounts"][0]["state"] == "ok" and folder(st)["unseen"] == n, 15, what)
            return folder(d.status())

        with d:
            f = wait_unseen(1, "the first check")
            self.assertEqual(f["new"], 0)
        # Recreated while the daemon is off, so no check sees the empty folder in between: the
        # baseline comes from the state file.
        self.recreate_with(user, 5)
        with d.start():
            f = wait_unseen(5, "the check of the recreated folder")
            self.assertEqual(f["new"], 0, f"old UIDs compared with a recreated mailbox's: {f}")
            self.fx.deliver(user, folder=FOLDER, subject="the one new message")
            f = wait_unseen(6, "the check after one more message")
            self.assertEqual(f["new"], 1, f"new mail after the recreation is silent (no re-base): {f}")
        self.assertEqual(d.proc.returncode, 0, d.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
