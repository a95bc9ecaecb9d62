#!/usr/bin/env python3
"""Sync state across power cuts: `tinybiff check --state FILE --ack` is killed with SIGKILL in the
middle of its flash writes (half of a program written, then the process dies), again and again,
while mail arrives. After every cut the next check must mount the state without starting fresh,
never announce mail as new that an earlier completed check acknowledged, and report the mail
that arrived in between."""
import json
import os
import signal
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
from mailfix import MailFixture  # noqa: E402

BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin")), "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))


class PowerCut(unittest.TestCase):
    def test_kill_during_state_writes(self):
        with MailFixture(dir=os.path.join(WORK, "state-powercut"), users=1, messages=4, unseen=2) as fx:
            state = os.path.join(fx.dir, "state.img")
            if os.path.exists(state):
                os.unlink(state)
            urls = [f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX",
                    f"pop3s://user1@localhost:{fx.ports['pop3s']}"]
            env = dict(os.environ, TINYBIFF_PASSWORD=fx.users["user1"])

            def run(*extra, kill_at=None):
                e = dict(env)
                if kill_at:
                    e["TINYBIFF_TEST_KILL_AT_FLASH_OP"] = str(kill_at)
                r = subprocess.run([BIN, "check", "--ca", fx.ca, "--state", state, *extra, *urls],
                                   capture_output=True, text=True, env=e, timeout=60)
                return r

            def news():
                r = run()
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertNotRegex(r.stderr, "fresh|damaged|unknown layout|no record",
                                    "the state was lost after a power cut")
                lines = [json.loads(x) for x in r.stdout.splitlines()]
                return [x["new"] for x in lines]

            r = run("--ack")  # baseline
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(news(), [0, 0])

            pending = [0, 0]  # mail delivered since the last acknowledgement that surely landed
            cuts = completed = 0
            for i in range(60):
                for _ in range(i % 3):
                    fx.deliver("user1", subject=f"powercut {i}")
                    pending = [p + 1 for p in pending]
                # While "off", mail arrives: the next check must see all of it as new.
                self.assertEqual(news(), pending)
                r = run("--ack", kill_at=1 + i % 4)
                if r.returncode == -signal.SIGKILL:
                    cuts += 1
                    after = news()
                    for acct in range(2):
                        # Each account's ack landed or it did not: never a mix, never garbage.
                        self.assertIn(after[acct], (0, pending[acct]), f"cut {i}: {after} vs {pending}")
                        if after[acct] == 0:
                            pending[acct] = 0
                else:
                    self.assertEqual(r.returncode, 0, r.stderr)
                    completed += 1
                    pending = [0, 0]
                    self.assertEqual(news(), [0, 0])
            # A clean acknowledgement at the end settles everything.
            self.assertEqual(run("--ack").returncode, 0)
            self.assertEqual(news(), [0, 0])
            print(f"power cuts during state writes: {cuts}, runs that completed: {completed}")
            self.assertGreaterEqual(cuts, 30)


    def test_corrupt_foreign_and_changed_state(self):
        with MailFixture(dir=os.path.join(WORK, "state-corrupt"), users=2, messages=3, unseen=1) as fx:
            state = os.path.join(fx.dir, "state.img")
            u1 = f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX"
            u2 = f"imaps://user2@localhost:{fx.ports['imaps']}/INBOX"

            def run(*urls, user="user1"):
                r = subprocess.run([BIN, "check", "--ca", fx.ca, "--state", state, "--ack", *urls], capture_output=True,
                                   text=True, env=dict(os.environ, TINYBIFF_PASSWORD=fx.users[user]), timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # the check itself always works
                return r
            for garbage in (os.urandom(32768), b"\0" * 32768):
                with open(state, "wb") as f:
                    f.write(garbage)
                r = run(u1)
                self.assertRegex(r.stderr, "damaged|fresh|no record")
                self.assertEqual(json.loads(r.stdout)["new"], 0)
                self.assertNotRegex(run(u1).stderr, "damaged|fresh|no record")  # healed
            with open(state, "wb") as f:
                f.write(b"not a flash image")
            r = run(u1)
            self.assertIn("unknown layout", r.stderr)
            self.assertTrue(os.path.exists(state + ".bad"))
            # Another account in the same slot starts fresh, and says so.
            r = run(u2, user="user2")
            self.assertIn("no record yet", r.stderr)
            fx.deliver("user2")
            r = run(u2, user="user2")
            self.assertEqual(json.loads(r.stdout)["new"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
