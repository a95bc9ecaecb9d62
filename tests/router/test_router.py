#!/usr/bin/env python3
"""The router build against real Dovecot: the CLI and the daemon as built for a router CPU, run
under qemu-user when cross-built (BIFF_RUN_WRAPPER, e.g. qemu-mipsel), without the status page:
counts equal doveadm's, IDLE delivers, new mail survives a restart until `tinybiff ack`, and the
status JSON (file and `tinybiff status`) says so. The control socket is root-only. With ten
accounts and Home Assistant's broker (mosquitto, TLS): everything published, PRESS acknowledges,
and natively the peak RSS stays under the router budget of 2 MiB."""
import json
import os
import stat
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mailfix import MailFixture  # noqa: E402
from mqttfix import MqttFixture  # noqa: E402
from daemonfix import Daemon  # noqa: E402

BIN = os.path.join(os.environ["BIFF_BIN"], "tinybiff")
WRAP = os.environ.get("BIFF_RUN_WRAPPER", "").split()
WORK = os.environ["BIFF_WORK"]
# Another architecture's tinybiff (the native router build): the sync state one writes, the
# other must read (byte order, word size).
PEER = os.environ.get("BIFF_PEER_BIN", "")
SLOW = 6 if WRAP else 1  # qemu-user runs the TLS handshakes several times slower


def by_name(st):
    return {a["name"]: a for a in st["accounts"]}


def figures(st):
    """What a router UI shows, per account: the numbers (not the times, nor the state: a polled
    account is "checking" now and then)."""
    return {a["name"]: (a["unseen"], a["new"], [(f["name"], f["unseen"], f["new"]) for f in a["folders"]])
            for a in st["accounts"]}


class RouterBuild(unittest.TestCase):
    def check(self, fx, *args, bin=BIN, wrap=WRAP, user="user1"):
        r = subprocess.run(wrap + [bin, "check", "--ca", fx.ca, "--timeout", "60", *args], capture_output=True,
                           text=True, timeout=120, env=dict(os.environ, TINYBIFF_PASSWORD=fx.users[user]))
        self.assertNotIn(fx.users[user], r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def test_cli_counts_and_state_across_architectures(self):
        with MailFixture(dir=os.path.join(WORK, "router-cli"), users=1, messages=6, unseen=2) as fx:
            imaps = f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX"
            pop3s = f"pop3s://user1@localhost:{fx.ports['pop3s']}"
            lines = self.check(fx, imaps, pop3s)
            want = fx.counts("user1")
            self.assertEqual([(x["ok"], x["unseen"]) for x in lines], [(True, want["unseen"]), (True, want["messages"])])
            self.assertEqual((lines[0]["uidnext"], lines[0]["uidvalidity"]), (want["uidnext"], want["uidvalidity"]))
            self.assertEqual(lines[0]["tls"], "TLSv1.3")
            if not PEER:
                return
            # The flash image this build writes, the peer architecture reads, and back.
            self.assertTrue(os.path.exists(PEER), f"{PEER} missing: build the router preset first")
            state = os.path.join(fx.dir, "state.img")
            if os.path.exists(state):
                os.remove(state)
            self.check(fx, "--state", state, imaps, pop3s)              # baseline, this build
            fx.deliver("user1")
            peer = self.check(fx, "--state", state, "--ack", imaps, pop3s, bin=PEER, wrap=[])
            self.assertEqual([x["new"] for x in peer], [1, 1])          # read what this build wrote
            fx.deliver("user1")
            back = self.check(fx, "--state", state, imaps, pop3s)
            self.assertEqual([x["new"] for x in back], [1, 1])          # and the peer's acknowledge

    def test_daemon_idle_restart_ack_status(self):
        # One Dovecot user per account: an IMAP STATUS beside a POP3 session of the same user can
        # see other counts for a moment (see tests/daemon), which is not what this tests.
        with MailFixture(dir=os.path.join(WORK, "router-daemon"), users=3, messages=5, unseen=2) as fx:
            accounts = [("idle", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "1"}),
                        ("pop", f"pop3s://user2@localhost:{fx.ports['pop3s']}", {"interval": "2"}),
                        ("work", f"imaps://user3@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"})]
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts, bin=BIN, wrapper=WRAP, page=False)
            if os.path.exists(d.state):  # left by an earlier run: this one starts from a baseline
                os.remove(d.state)
            ok = lambda s: all(a["state"] == "ok" for a in s["accounts"])  # noqa: E731
            with d:
                d.wait_for(ok, 10 * SLOW, "first checks")
                st = by_name(d.status())
                self.assertEqual(st["idle"]["unseen"], fx.counts("user1")["unseen"])
                self.assertEqual(st["pop"]["unseen"], fx.counts("user2")["messages"])
                self.assertEqual(st["work"]["unseen"], fx.counts("user3")["unseen"])
                self.assertIn("this build has no status page", d.read_log())
                # `tinybiff status` through the control socket: the same figures as the file.
                d.wait_for(lambda s: figures(json.loads(d.ctl("status").stdout)) == figures(s), 3 * SLOW,
                           "`tinybiff status` and the file agreeing (the file follows within a second)")
                mode = os.stat(d.control).st_mode
                self.assertTrue(stat.S_ISSOCK(mode))
                self.assertEqual(stat.S_IMODE(mode), 0o600)
                self.assertEqual(stat.S_IMODE(os.stat(d.control_dir).st_mode), 0o700)

                if not WRAP:  # natively (under qemu the RSS would be the emulator's)
                    with open(f"/proc/{d.proc.pid}/status") as f:
                        hwm = int(next(ln for ln in f if ln.startswith("VmHWM:")).split()[1])
                    self.assertLess(hwm, 2048, "peak RSS over the router budget of 2 MiB")
                d.wait_for(lambda s: "idling on INBOX" in d.read_log(), 5 * SLOW, "IDLE")
                fx.deliver("user1", subject="idle on a router")
                took = d.wait_for(lambda s: by_name(s)["idle"]["new"] == 1, 3.0 * SLOW, "IDLE delivery")  # the file: 1 s steps
                print(f"IDLE delivery reached the status JSON after {took:.2f} s")
            self.assertEqual(d.proc.returncode, 0, d.read_log())
            self.assertFalse(os.path.exists(d.control), "control socket left behind")

            fx.deliver("user1")  # while the daemon is off
            fx.deliver("user2")
            fx.deliver("user3")
            with d.start():
                d.wait_for(ok, 10 * SLOW, "checks after the restart")
                self.assertEqual({k: v["new"] for k, v in by_name(d.status()).items()},
                                 {"idle": 2, "pop": 1, "work": 1})
                r = d.ctl("ack")
                self.assertEqual(r.stdout, "ok\n")
                # Acknowledged before the answer: the next status already says so.
                self.assertEqual([a["new"] for a in json.loads(d.ctl("status").stdout)["accounts"]], [0, 0, 0])
                d.wait_for(lambda s: all(a["new"] == 0 for a in s["accounts"]), 3 * SLOW, "the file after ack")
            with d.start():  # acknowledged mail is not announced again
                d.wait_for(ok, 10 * SLOW, "checks after the second restart")
                self.assertEqual([a["new"] for a in d.status()["accounts"]], [0, 0, 0])
            r = d.ctl("status", check=False)  # no daemon: a clear error
            self.assertEqual(r.returncode, 1)
            self.assertIn("is the daemon running?", r.stderr)

    def test_daemon_ten_accounts_and_mqtt(self):
        """lwIP's MQTT client in the router build (lwIP's core for MQTT only), on this CPU."""
        node, base = "router", "tinybiff/router"
        with MailFixture(dir=os.path.join(WORK, "router-mqtt"), users=5, messages=3, unseen=1) as fx, \
                MqttFixture(os.path.join(WORK, "router-mqtt", "mq"), node=node, base=base) as b:
            accounts = []
            for k in range(1, 6):
                accounts.append((f"imap{k}", f"imaps://user{k}@localhost:{fx.ports['imaps']}/INBOX",
                                 {"idle": "0", "interval": "3"}))
                accounts.append((f"pop{k}", f"pop3s://user{k}@localhost:{fx.ports['pop3s']}", {"interval": "3"}))
            mqtt = ("ha", {"url": f"mqtts://localhost:{b.ports['tls']}", "username": "device", "ca": b.ca,
                           "client_id": node}, b.passwords["device"])
            d = Daemon(os.path.join(fx.dir, "daemon-mqtt"), fx, accounts, bin=BIN, wrapper=WRAP, page=False, mqtt=mqtt)
            if os.path.exists(d.state):
                os.remove(d.state)
            with d:
                d.wait_for(lambda s: s["mqtt"] and s["mqtt"]["state"] == "connected"
                           and all(a["state"] == "ok" for a in s["accounts"]), 20 * SLOW, "broker and first checks")
                want = 1 + 3 + 3 * 10 + 1 + 10  # availability, configs, totals, accounts
                for _ in range(10 * SLOW):
                    got = b.retained("#")
                    if len(got) >= want:
                        break
                self.assertEqual(len(got), want, sorted(got))
                self.assertEqual(got[f"{base}/availability"], "online")
                fx.deliver("user1", subject="for HA on a router")
                # both of user1's accounts have seen it: an acknowledge takes what the last checks saw
                d.wait_for(lambda s: by_name(s)["imap1"]["new"] == 1 and by_name(s)["pop1"]["new"] == 1, 10 * SLOW,
                           "the delivery in both of user1's accounts")
                b.publish(f"{base}/ack", "PRESS")
                d.wait_for(lambda s: s["new"] == 0, 5 * SLOW, "PRESS acknowledged")
                if not WRAP:
                    with open(f"/proc/{d.proc.pid}/status") as f:
                        hwm = int(next(ln for ln in f if ln.startswith("VmHWM:")).split()[1])
                    print(f"peak RSS with 10 accounts and MQTT: {hwm} KiB")
                    self.assertLess(hwm, 2048, "peak RSS over the router budget of 2 MiB")
            self.assertNotIn(b.passwords["device"], d.read_log())

    @unittest.skipIf(os.geteuid() != 0, "needs root to try as another user")
    def test_control_socket_refuses_other_users(self):
        with MailFixture(dir=os.path.join(WORK, "router-ctl"), users=1) as fx:
            d = Daemon(os.path.join(fx.dir, "daemon"), fx,
                       [("a", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"})],
                       bin=BIN, wrapper=WRAP, page=False)
            nobody = lambda: os.setresuid(65534, 65534, 65534)  # noqa: E731
            with d:
                d.wait_for(lambda s: s["accounts"][0]["state"] == "ok", 10 * SLOW, "first check")
                cmd = d.command("ack", "-s", d.control)
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, preexec_fn=nobody)
                self.assertEqual(r.returncode, 1)
                self.assertIn("Permission denied", r.stderr)  # the 0700 directory
                # Even with the directory and socket opened up, the daemon checks the peer's uid.
                os.chmod(d.control_dir, 0o755)
                os.chmod(d.control, 0o666)
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, preexec_fn=nobody)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertEqual(r.stdout, "")
                d.wait_for(lambda s: "request from uid 65534 refused" in d.read_log(), 5, "the refusal logged")
                self.assertEqual(d.ctl("ack").stdout, "ok\n")  # root still may


if __name__ == "__main__":
    unittest.main(verbosity=2)
