#!/usr/bin/env python3
"""One history, three hosts of the agent, the same numbers (issue 15): `tinybiff check --state`
and `tinybiff run` against Dovecot, and the agent alone (agent_scenario, no server), each through
a first check, a delivery, a restart, an acknowledge and another delivery, with an IMAP and a
POP3 account on the same maildrop. The agent alone also times what a real server cannot be made
to do on cue: a delivery during a check, an acknowledge in the middle of a POP3 listing (the
daemon's and the notifier's acknowledge during a held POP3 listing are test_daemon.py's and the
e2e test's)."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mailfix import MailFixture  # noqa: E402
from daemonfix import Daemon  # noqa: E402
from test_daemon import acknowledge  # noqa: E402

BIN = os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin"))
TESTS = os.environ.get("BIFF_TESTS", os.path.join(BIN, "..", "tests"))
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
STEPS = ["first check", "a delivery", "a restart", "an acknowledge", "a delivery"]
# (IMAP unseen, new), (POP3 unseen, new) after each step; the maildrop starts with 3 messages,
# 1 of them unseen.
WANT = [((1, 0), (3, 0)), ((2, 1), (4, 1)), ((2, 1), (4, 1)), ((2, 0), (4, 0)), ((3, 1), (5, 1))]


def fixture(name):
    fx = MailFixture(dir=os.path.join(WORK, name), users=1, messages=3, unseen=1)
    fx.start()
    return fx


def urls(fx):
    return (f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", f"pop3s://user1@localhost:{fx.ports['pop3s']}")


class Scenario(unittest.TestCase):
    def agent_alone(self):
        r = subprocess.run([os.path.join(TESTS, "agent_scenario")], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        steps = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual([s["step"] for s in steps[:5]], STEPS)
        self.assertEqual([(tuple(s["imap"]), tuple(s["pop3"])) for s in steps[5:]],
                         [((3, 1), (5, 1)), ((4, 2), (6, 2)), ((4, 0), (6, 0))],
                         "a delivery during a check shows at the next one; an acknowledge during a POP3 "
                         "listing brings nothing back")
        return [(tuple(s["imap"]), tuple(s["pop3"])) for s in steps[:5]]

    def cli(self):
        fx = fixture("scenario-cli")
        try:
            state = os.path.join(fx.dir, "state.img")
            if os.path.exists(state):
                os.remove(state)

            def check(ack=False):
                args = [os.path.join(BIN, "tinybiff"), "check", "--ca", fx.ca, "--state", state, *urls(fx)]
                if ack:
                    args.insert(2, "--ack")
                r = subprocess.run(args, capture_output=True, text=True, timeout=60,
                                   env=dict(os.environ, TINYBIFF_PASSWORD=fx.users["user1"]))
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                return tuple((x["unseen"], x["new"]) for x in map(json.loads, r.stdout.splitlines()))

            seen = [check()]
            fx.deliver("user1", subject="scenario 1")
            seen.append(check())
            seen.append(check())  # every run of the CLI is a restart
            check(ack=True)
            seen.append(check())
            fx.deliver("user1", subject="scenario 2")
            seen.append(check())
            return seen
        finally:
            fx.stop()

    def daemon(self):
        fx = fixture("scenario-daemon")
        try:
            imap, pop3 = urls(fx)
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, [("imap", imap, {}), ("pop3", pop3, {})])
            if os.path.exists(d.state):
                os.remove(d.state)
            stamp = {}

            def checked(why):
                """Both accounts checked again since the last call; their (unseen, new)."""
                d.wait_for(lambda s: all(a["state"] == "ok" and a["last_check"] > stamp.get(a["name"], 0)
                                         for a in s["accounts"]), 30, why)
                s = d.status()
                a = {x["name"]: x for x in s["accounts"]}
                stamp.update({n: x["last_check"] for n, x in a.items()})
                return ((a["imap"]["unseen"], a["imap"]["new"]), (a["pop3"]["unseen"], a["pop3"]["new"]))

            def recheck():
                """A reload checks every account at once; a second on, so last_check moves."""
                time.sleep(1.1)
                d.signal(signal.SIGHUP)

            seen = []
            with d.start():
                seen.append(checked("the first checks"))
                fx.deliver("user1", subject="scenario 1")
                recheck()
                d.wait_for(lambda s: s["new"] == 2, 30, "the delivery, seen by both accounts")
                seen.append(checked("the checks after the delivery"))
            d.stop()
            time.sleep(1.1)
            with d.start():
                seen.append(checked("the checks after the restart"))
                acknowledge(d)
                d.wait_for(lambda s: s["new"] == 0, 10, "the acknowledge")
                recheck()
                seen.append(checked("the checks after the acknowledge"))
                fx.deliver("user1", subject="scenario 2")
                recheck()
                d.wait_for(lambda s: s["new"] == 2, 30, "the second delivery, seen by both accounts")
                seen.append(checked("the checks after the second delivery"))
            return seen
        finally:
            fx.stop()

    def test_cli_daemon_and_agent_agree(self):
        got = {"agent": self.agent_alone(), "cli": self.cli(), "daemon": self.daemon()}
        for host, seen in got.items():
            print(f"{host:6}: " + "  ".join(f"{s}: imap {i} pop3 {p}" for s, (i, p) in zip(STEPS, seen)))
        for host, seen in got.items():
            self.assertEqual(seen, WANT, f"{host} disagrees: {seen}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
