#!/usr/bin/env python3
"""biff_ha's messages through a real broker (tests/fixture/mqttfix.py: mosquitto over TLS with
the device's password and ACL), carried by Debian's mosquitto_pub/mosquitto_sub; ha_tool runs
biff_ha. Shows: the broker takes every message biff_ha publishes under the device's ACL and
keeps exactly those; the subscriptions biff_ha asks for are allowed and hand back its retained
messages; a removed account's entities are deleted from the broker and nothing else is; HA's
PRESS (live) is a press and a PRESS retained on the broker is not; HA's birth message asks for
everything again."""
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "fixture"))
from mqttfix import MqttFixture  # noqa: E402

TOOL = os.path.join(os.environ.get("BIFF_TESTS", "build/host/tests"), "ha_tool")
NODE, BASE = "tb_test", "tinybiff/tb_test"
WORK, HOME = "0badcafe", "12345678"


def tool(commands, *accounts):
    lines = [f"account {a}" for a in accounts] + commands
    r = subprocess.run([TOOL, NODE, BASE], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"ha_tool: status {r.returncode}: {r.stderr}")
    return r.stdout.splitlines()


def pubs(lines):
    out = []
    for line in lines:
        if line.startswith("PUB "):
            _, topic, payload = line.split(" ", 2)
            out.append((topic, "" if payload == "-" else payload))
    return out


class HaThroughBroker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ha-broker-")
        cls.b = MqttFixture(os.path.join(cls.work, "mq"), node=NODE, base=BASE)
        cls.b.start()

    @classmethod
    def tearDownClass(cls):
        cls.b.stop()

    def publish_all(self, messages):
        for topic, payload in messages:
            args = ["mosquitto_pub", *self.b._client_args("device", "tls"), "-t", topic, "-r"]
            args += ["-m", payload] if payload else ["-n"]
            r = subprocess.run(args, capture_output=True, text=True, timeout=15)
            self.assertEqual(r.returncode, 0, r.stderr)

    def subs(self):
        return [line[4:] for line in tool(["subs"]) if line.startswith("SUB ")]

    def listen(self, topic, action, user="device"):
        """The first message on topic after action() as the device sees it: 'R TOPIC PAYLOAD'."""
        p = subprocess.Popen(["mosquitto_sub", *self.b._client_args(user, "tls"), "-t", topic,
                              "-F", "%r %t %p", "-C", "1", "-W", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        action()
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        return out.strip()

    def test_1_publish_remove_commands(self):
        accounts = [f"{WORK} 3 1 0 work", f"{HOME} 0 0 2 home mail"]
        first = pubs(tool(["connect"], *accounts))
        self.assertEqual(len(first), 1 + 3 + 3 * 2 + 1 + 2)
        self.publish_all(first)
        # The broker kept exactly what biff_ha published (the ACL let all of it through).
        self.assertEqual(self.b.retained("#"), dict(first))
        # The subscriptions are allowed for the device and hand back its retained messages.
        subs = self.subs()
        self.assertEqual(subs, [f"{BASE}/ack", "homeassistant/status",
                                f"homeassistant/+/{NODE}/+/config", f"{BASE}/account/+"])
        configs = self.b.retained(subs[2], user="device")
        self.assertEqual(len(configs), 9)
        states = self.b.retained(subs[3], user="device")
        self.assertEqual(set(states), {f"{BASE}/account/{WORK}", f"{BASE}/account/{HOME}"})

        # The account "home" is removed: fed what the broker hands back, biff_ha deletes its
        # three entities and its state, and nothing else.
        incoming = [f"in 1 {t} {p}" for t, p in {**configs, **states}.items()]
        out = tool(incoming, f"{WORK} 3 1 0 work")
        stale = sorted(line[6:] for line in out if line.startswith("STALE "))
        self.assertEqual(stale, sorted([f"homeassistant/sensor/{NODE}/{HOME}_unread/config",
                                        f"homeassistant/sensor/{NODE}/{HOME}_new/config",
                                        f"homeassistant/binary_sensor/{NODE}/{HOME}_problem/config",
                                        f"{BASE}/account/{HOME}"]))
        self.publish_all([(t, "") for t in stale])
        left = self.b.retained("#")
        self.assertFalse([t for t in left if HOME in t], left)
        self.assertEqual(len(left), len(first) - 4)

        # Home Assistant's button: a live PRESS is one; a PRESS left retained is not.
        got = self.listen(subs[0], lambda: self.b.publish(f"{BASE}/ack", "PRESS"))
        self.assertEqual(got, f"0 {BASE}/ack PRESS")
        self.assertEqual(tool([f"in {got}"]), ["PRESS"])
        self.b.publish(f"{BASE}/ack", "PRESS", retain=True)
        got = self.listen(subs[0], lambda: None)
        self.assertEqual(got, f"1 {BASE}/ack PRESS")
        self.assertEqual(tool([f"in {got}"]), ["NONE"])
        self.b.publish(f"{BASE}/ack", "", retain=True)  # (mosquitto_pub -m '' clears it)

        # HA's birth message: everything is due again.
        got = self.listen(subs[1], lambda: self.b.publish("homeassistant/status", "online"))
        out = tool(["connect", f"in {got}", "next"], f"{WORK} 3 1 0 work")
        i = out.index("HA_ONLINE")
        self.assertEqual(len(pubs(out[i:])), 3 + 3 + 1 + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
