#!/usr/bin/env python3
"""Sync state for many accounts: `tinybiff run` with 40 accounts (IMAP and POP3 for 20 Dovecot
users, so most of them sit beyond slot 16), SIGKILLed and restarted on the same state file. Mail
that arrived while it was off is "new" for every account after each restart (not re-baselined
to 0, not doubled); after POST /ack and another SIGKILL/restart nothing is new. Then the list
grows to 80 accounts: the state image grows (32 KB -> 128 KB) and keeps what it had."""
import os
import re
import signal
import sys
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mailfix import MailFixture  # noqa: E402
from daemonfix import Daemon  # noqa: E402

WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
USERS = 20


def news(d):
    return {a["name"]: a["new"] for a in d.status()["accounts"]}


class ManyAccounts(unittest.TestCase):
    def accounts(self, fx, copies=0):
        acc = []
        for u in range(1, USERS + 1):
            acc.append((f"i{u}", f"imaps://user{u}@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"}))
            acc.append((f"p{u}", f"pop3s://user{u}@localhost:{fx.ports['pop3s']}", {}))
        for c in range(copies):  # the same maildrops again, in slots 40.. (same id, own state)
            for u in range(1, USERS + 1):
                acc.append((f"q{c}_{u}", f"pop3s://user{u}@localhost:{fx.ports['pop3s']}", {}))
        return acc

    def start_checked(self, d, n):
        """Start, wait until every account has been checked; returns this start's log."""
        off = os.path.getsize(d.log) if os.path.exists(d.log) else 0
        d.start()
        d.wait_for(lambda s: len(s["accounts"]) == n and all(a["state"] == "ok" for a in s["accounts"]),
                   60, f"first checks of {n} accounts")
        with open(d.log) as f:
            f.seek(off)
            return f.read()

    def kill(self, d):
        d.signal(signal.SIGKILL)
        d.proc.wait(10)
        d.logf.close()

    def test_many_accounts_survive_sigkill(self):
        with MailFixture(dir=os.path.join(WORK, "state-many"), users=USERS, messages=2, unseen=1) as fx:
            ddir = os.path.join(fx.dir, "daemon")
            for f in ("state.img", "state.img.bad", "daemon.log"):
                if os.path.exists(os.path.join(ddir, f)):
                    os.unlink(os.path.join(ddir, f))
            accounts = self.accounts(fx)
            # One check at a time: when an IMAP and a POP3 session of the same Dovecot user run
            # together right after a Maildir delivery, STATUS can answer from the index with the
            # old UIDNEXT until the next check (seen under ASan load). This test is about what
            # survives a SIGKILL, not about that race, so it takes the race out.
            d = Daemon(ddir, fx, accounts, extra_main="\toption max_parallel '1'")
            big = None
            names = [a[0] for a in accounts]
            try:
                self.start_checked(d, 40)  # baselines
                self.assertEqual(set(news(d).values()), {0})
                self.kill(d)
                self.assertEqual(os.path.getsize(d.state), 32 * 1024)

                # While it is off, mail arrives, mostly for accounts beyond slot 16.
                want = {n: 0 for n in names}
                for u in [1] + list(range(9, USERS + 1)):
                    for _ in range(u % 3 + 1):
                        fx.deliver(f"user{u}")
                    want[f"i{u}"] = want[f"p{u}"] = u % 3 + 1
                for run in range(2):  # the second start must not double nor forget
                    log = self.start_checked(d, 40)
                    self.assertNotIn("no record yet", log, "state lost at a restart")
                    self.assertNotRegex(log, "unknown layout|damaged|keeps at most|first 16")
                    self.assertEqual(news(d), want, f"start {run + 2}")
                    self.kill(d)

                d.start()
                d.wait_for(lambda s: all(a["state"] == "ok" for a in s["accounts"]), 60, "checks")
                page = urllib.request.urlopen(d.url("/")).read().decode()
                token = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
                req = urllib.request.Request(d.url("/ack"), data=f"csrf={token}".encode(), method="POST",
                                             headers={"Origin": f"http://127.0.0.1:{d.port}"})
                urllib.request.urlopen(req)
                d.wait_for(lambda s: all(a["new"] == 0 for a in s["accounts"]), 5, "acknowledge")
                self.kill(d)
                self.start_checked(d, 40)
                self.assertEqual(set(news(d).values()), {0}, "acknowledged mail is new again")
                self.kill(d)

                # The list grows to 80 accounts: the image grows and keeps the 40 accounts' state.
                fx.deliver("user20")
                fx.deliver("user3")
                big = Daemon(ddir, fx, self.accounts(fx, copies=2), extra_main="\toption max_parallel '1'")
                log = self.start_checked(big, 80)
                self.assertIn("grown to 128 KB", log)
                self.assertEqual(os.path.getsize(big.state), 128 * 1024)
                got = news(big)
                want = {n: 0 for n in got}
                want.update({"i20": 1, "p20": 1, "i3": 1, "p3": 1})  # the new slots start at 0
                self.assertEqual(got, want)
                self.kill(big)
                log = self.start_checked(big, 80)
                self.assertNotIn("no record yet", log)
                self.assertEqual(news(big), want)
                big.stop()
            finally:
                for x in (d, big):
                    if x and x.proc and x.proc.poll() is None:
                        x.stop()


if __name__ == "__main__":
    unittest.main()
