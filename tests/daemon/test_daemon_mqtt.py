#!/usr/bin/env python3
"""The daemon publishing to Home Assistant through a real broker (issue 17): Debian's mosquitto
(tests/fixture/mqttfix.py: TLS with its own test CA, a password file, ACLs) and Dovecot
(mailfix.py), a subscriber as Home Assistant's side (mosquitto_sub, user `ha`).

Shows: the broker holds exactly the configs and states biff_ha publishes for these accounts
(byte for byte against ha_tool, which runs biff_ha); a delivery changes `new` on MQTT within
2 s for the IDLE account and within one check for the polled one; PRESS on the button's
command topic acknowledges: `new` goes to 0 on MQTT, in /status.json and on the LED; a
restarted broker (which lost every retained message) gets everything again; a reload without
an account deletes that account's entities from the broker; a killed daemon
becomes `offline` through its last will; a broker with a wrong certificate or a wrong password
is a clear error on the page while the mail checks go on. The password is in no log and no
status output."""
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, HERE)
from mailfix import MailFixture  # noqa: E402
from mqttfix import MqttFixture, Subscriber, ha_expected  # noqa: E402
from daemonfix import Daemon  # noqa: E402

WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
TOOL = os.path.join(os.environ.get("BIFF_TESTS", os.path.join(HERE, "..", "..", "build", "host", "tests")), "ha_tool")
NODE, BASE = "tbtest", "tinybiff/tbtest"
DEVICE = ("tinybiff", "tinybiff router daemon", "0.1.0")  # run_mqtt.c


def read(path):
    with open(path) as f:
        return f.read()


def expected(status, retained):
    """What biff_ha publishes for these accounts (ha_tool, through mqttfix.ha_expected)."""
    return ha_expected(TOOL, NODE, BASE, DEVICE, status, retained)


class DaemonMqtt(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="daemon-mqtt-", dir=WORK if os.path.isdir(WORK) else None)
        os.chmod(cls.work, 0o755)  # Dovecot's mail user walks into it
        cls.fx = MailFixture(dir=os.path.join(cls.work, "mail"), users=2, messages=3, unseen=1)
        cls.fx.start()
        cls.b = MqttFixture(os.path.join(cls.work, "mq"), node=NODE, base=BASE)
        try:
            cls.b.start()
        except Exception:
            cls.fx.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.b.stop()
        cls.fx.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def daemon(self, name, listener="tls", password=None, leds=None):
        fx, b = self.fx, self.b
        accounts = [("idle", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "1"}),
                    ("pop", f"pop3s://user2@localhost:{fx.ports['pop3s']}", {"interval": "3"})]
        scheme = "mqtt" if listener == "plain" else "mqtts"
        mqtt = ("ha", {"url": f"{scheme}://localhost:{b.ports[listener]}", "username": "device", "ca": b.ca,
                       "client_id": NODE}, password or b.passwords["device"])
        return Daemon(os.path.join(self.work, name), fx, accounts, leds=leds, mqtt=mqtt)

    def assert_no_secret(self, d):
        for secret in (self.b.passwords["device"], self.b.passwords["ha"], "wrong-pass-4711"):
            self.assertNotIn(secret, d.read_log())
            self.assertNotIn(secret, json.dumps(d.status()))
            self.assertNotIn(secret, read(self.b.log))

    def test_publish_deliver_press_restart_will(self):
        b = self.b
        sysfs = os.path.join(self.work, "sysfs-leds")
        os.makedirs(os.path.join(sysfs, "mail"), exist_ok=True)
        for f in ("brightness", "trigger", "delay_on", "delay_off"):
            open(os.path.join(sysfs, "mail", f), "w").close()
        d = self.daemon("main", leds={"mail": {"sysfs": "mail"}})
        sub = Subscriber(b)
        try:
            with d.start(env={"TINYBIFF_SYSFS_LEDS": sysfs}):
                d.wait_for(lambda s: s["mqtt"] and s["mqtt"]["state"] == "connected"
                           and all(a["last_check"] for a in s["accounts"]), 15, "broker connected, first checks")
                self.assertIn("mqtt: connected to mqtts://localhost", d.read_log())

                # The broker holds exactly biff_ha's first publication for these counts.
                def settled():  # every retained message there, with the values of the status now
                    r = b.retained("#")
                    return r if len(r) == 1 + 3 + 3 * 2 + 1 + 2 and r == expected(d.status(), r) else None
                deadline = time.monotonic() + 10
                while not (got := settled()) and time.monotonic() < deadline:
                    time.sleep(0.2)
                self.assertIsNotNone(got, "retained set incomplete")
                self.assertEqual(got, expected(d.status(), got))
                self.assertEqual(got[f"{BASE}/availability"], "online")

                # A delivery: `new` on MQTT within 2 s (IDLE), within one check (POP3, 3 s).
                idle_topic = next(t for t in got if t.startswith(f"{BASE}/account/")
                                  and json.loads(got[t])["unread"] == self.fx.counts("user1")["unseen"])
                d.wait_for(lambda s: "idling on INBOX" in d.read_log(), 10, "IDLE")
                t0 = time.monotonic()
                self.fx.deliver("user1", subject="for HA")
                m = sub.wait(lambda t, p: t == idle_topic and json.loads(p)["new"] == 1, 2.0, "IDLE delivery",
                             since=t0)
                print(f"IDLE delivery on MQTT after {m[0] - t0:.2f} s")
                t0 = time.monotonic()
                self.fx.deliver("user2", subject="for HA too")
                m = sub.wait(lambda t, p: t == f"{BASE}/state" and json.loads(p)["new"] == 2, 3 + 5,
                             "POP3 delivery in the totals", since=t0)
                print(f"POP3 delivery on MQTT after {m[0] - t0:.2f} s (interval 3 s)")
                self.assertEqual(read(os.path.join(sysfs, "mail", "trigger")), "timer")  # slow blink: new

                # PRESS on the button: new 0 on MQTT, in /status.json and on the LED.
                t0 = time.monotonic()
                b.publish(f"{BASE}/ack", "PRESS")
                sub.wait(lambda t, p: t == f"{BASE}/state" and json.loads(p)["new"] == 0, 3, "acknowledged",
                         since=t0)
                d.wait_for(lambda s: s["new"] == 0 and all(a["new"] == 0 for a in s["accounts"]), 3,
                           "acknowledged on the page")
                self.assertIn("new mail acknowledged", d.read_log())
                end = time.monotonic() + 3
                while read(os.path.join(sysfs, "mail", "trigger")) != "none" and time.monotonic() < end:
                    time.sleep(0.05)
                self.assertEqual((read(os.path.join(sysfs, "mail", "trigger")),
                                  read(os.path.join(sysfs, "mail", "brightness"))), ("none", "1"))  # steady

                # The broker restarts without what it retained: the daemon publishes it all again.
                sub.close()
                b.restart()
                t0 = time.monotonic()
                deadline = t0 + 25
                while not (again := settled()) and time.monotonic() < deadline:
                    time.sleep(0.2)
                self.assertIsNotNone(again, "nothing republished after the broker restart")
                print(f"republished {time.monotonic() - t0:.1f} s after the broker restart")
                self.assertEqual(again, expected(d.status(), again))
                self.assertIn("the broker closed the connection; reconnecting", d.read_log())

                # A reload without the POP3 account: its retained entities and state are deleted.
                import re
                text = re.sub(r"config account 'pop'\n(\t.*\n)*", "", read(d.config))
                with open(d.config + ".new", "w") as f:
                    f.write(text)
                os.replace(d.config + ".new", d.config)
                d.signal(signal.SIGHUP)
                d.wait_for(lambda s: [a["name"] for a in s["accounts"]] == ["idle"], 5, "the reload")
                # settled: the deletions and the new totals are in (the count alone can be right
                # while a total still has its old value)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    left = b.retained("#")
                    if len(left) == 1 + 3 + 3 + 1 + 1 and left == expected(d.status(), left):
                        break
                    time.sleep(0.2)
                self.assertEqual(left, expected(d.status(), left))
                self.assertFalse([t for t in left if t not in again], "only deletions")

                # The daemon dies: its last will makes it `offline`.
                sub = Subscriber(b, f"{BASE}/availability")
                sub.wait(lambda t, p: p == "online", 5, "retained online")
                t0 = time.monotonic()
                d.proc.send_signal(signal.SIGKILL)
                sub.wait(lambda t, p: p == "offline", 5, "last will", since=t0)
                d.proc.wait(5)
                self.assertEqual(b.retained(f"{BASE}/availability"), {f"{BASE}/availability": "offline"})
            self.assertNotIn(b.passwords["device"], d.read_log())
            self.assertNotIn(b.passwords["device"], read(b.log))
        finally:
            sub.close()

    def test_wrong_certificate_and_password_on_the_page(self):
        for name, listener, password, want in (
                ("wrongcert", "wrong", None, "TLS: "),
                ("wrongpw", "tls", "wrong-pass-4711", "the broker refused the login: not authorized")):
            with self.subTest(name):
                d = self.daemon(name, listener=listener, password=password)
                with d.start():
                    d.wait_for(lambda s: s["mqtt"] and s["mqtt"]["state"] == "error"
                               and all(a["state"] == "ok" for a in s["accounts"]), 15, "broker error, mail checked")
                    st = d.status()
                    self.assertIn(want, st["mqtt"]["detail"])
                    page = urllib.request.urlopen(d.url("/")).read().decode()
                    self.assertIn('<p class="err" id="mqtt">Home Assistant (MQTT): error: ' + want, page)
                    self.assertIn(f"mqtt: mqtts://localhost:{self.b.ports[listener]}: {want}", d.read_log())
                    # mail goes on: the POP3 account is checked again on its 3 s interval
                    first = {a["name"]: a["last_check"] for a in st["accounts"]}
                    d.wait_for(lambda s: next(a for a in s["accounts"] if a["name"] == "pop")["last_check"]
                               > first["pop"], 8, "the next POP3 check")
                    self.assert_no_secret(d)
                print(f"{name}: {st['mqtt']['detail']}")


if __name__ == "__main__":
    unittest.main()
