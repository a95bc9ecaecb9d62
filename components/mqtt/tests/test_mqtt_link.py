#!/usr/bin/env python3
"""lwIP's MQTT client over biff_mqtt_link (the project's transport and TLS) against a real
mosquitto (tests/fixture/mqttfix.py), through mqtt_link_tool. Shows: over TLS with the test
CA and the device's password the client connects, its retained publication reaches the broker,
its subscription delivers a live PRESS; a killed device gets `offline` from its last will
(lwIP's mqtt_disconnect() closes without a DISCONNECT, so every end of the connection does); plain mqtt:// takes the same path; a wrong password is the
broker's refusal and a certificate for another name is refused by the client."""
import os
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "fixture"))
import mailfix  # noqa: E402
from mqttfix import MqttFixture  # noqa: E402

TOOL = os.path.join(os.environ.get("BIFF_TESTS", "build/host/tests"), "mqtt_link_tool")
NODE, BASE = "tb_link", "tinybiff/tb_link"


class MqttLink(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mqtt-link-")
        cls.b = MqttFixture(os.path.join(cls.work, "mq"), node=NODE, base=BASE)
        cls.b.start()

    @classmethod
    def tearDownClass(cls):
        cls.b.stop()

    def start(self, listener="tls", password=None, pool=None):
        host = mailfix.HOST4 if listener == "plain" else mailfix.HOSTNAME
        ca = "-" if listener == "plain" else self.b.ca
        env = dict(os.environ, MQTT_PASSWORD=password or self.b.passwords["device"])
        if pool:
            env["MQTT_LINK_POOL"] = str(pool)
        p = subprocess.Popen([TOOL, host, str(self.b.ports[listener]), ca, NODE, "device", BASE],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def wait_line(self, p, prefix):
        """Lines the tool printed up to the first one starting with prefix."""
        seen = []
        while True:
            line = p.stdout.readline()
            if not line:
                self.fail(f"tool ended before {prefix!r}: {seen} {p.stderr.read()}")
            seen.append(line.strip())
            if line.startswith(prefix):
                return seen

    def test_1_tls_publish_subscribe_press(self):
        p = self.start()
        self.assertEqual(self.wait_line(p, "SUBSCRIBED"), ["CONNECTED", "SUBSCRIBED 0"])
        self.assertEqual(self.b.retained(f"{BASE}/availability"), {f"{BASE}/availability": "online"})
        self.b.publish(f"{BASE}/ack", "PRESS")
        out, err = p.communicate(timeout=20)
        self.assertEqual(out.strip(), f"IN {BASE}/ack PRESS", err)
        self.assertEqual(p.returncode, 0)

    def test_2_killed_device_goes_offline_through_its_will(self):
        p = self.start()
        self.wait_line(p, "SUBSCRIBED")
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        got = {}
        for _ in range(10):
            got = self.b.retained(f"{BASE}/availability")
            if got.get(f"{BASE}/availability") == "offline":
                break
        self.assertEqual(got, {f"{BASE}/availability": "offline"})

    def test_3_plain_mqtt_same_path(self):
        p = self.start("plain")
        self.wait_line(p, "SUBSCRIBED")
        self.b.publish(f"{BASE}/ack", "PRESS")
        out, _ = p.communicate(timeout=20)
        self.assertEqual(out.strip(), f"IN {BASE}/ack PRESS")

    def test_4_wrong_password_is_refused(self):
        p = self.start(password="not-" + self.b.passwords["device"])
        out, _ = p.communicate(timeout=20)
        self.assertEqual(out.strip(), "REFUSED 5")
        self.assertEqual(p.returncode, 1)

    def test_5_wrong_certificate_is_refused(self):
        p = self.start("wrong")
        out, _ = p.communicate(timeout=20)
        self.assertTrue(out.startswith("TLS "), out)
        self.assertNotIn("CONNECTED", out)
        self.assertEqual(p.returncode, 1)

    def test_6_pool_too_small_is_memory_not_trust(self):
        """The broker's handshake in pools too small for it (the notifier's allocator): always
        "memory exhausted", also where mbedTLS itself makes an unchecked signature "not
        trusted" (-0x2700 at the server's Certificate); a pool large enough connects and says
        what the handshake and the session took."""
        steps = []
        for pool in range(20000, 34001, 1000):
            p = self.start(pool=pool)
            first = p.stdout.readline().strip()
            if first == "CONNECTED":
                p.kill()
                _, err = p.communicate(timeout=20)
                self.assertRegex(err, r"POOL ca=\d+ handshake_peak=\d+ established=\d+ TLSv1\.[23]")
                break
            p.communicate(timeout=20)
            self.assertRegex(first, r"^TLS TLS memory exhausted \(pool %d bytes, " % pool)
            steps.append(first)
        else:
            self.fail(f"no pool up to 34,000 B connected: {steps}")
        self.assertTrue(any("at server Certificate" in s for s in steps), steps)


if __name__ == "__main__":
    unittest.main(verbosity=2)
