#!/usr/bin/env python3
"""Hostile MQTT brokers (issue 17) against lwIP's MQTT client over biff_mqtt_link, run by
mqtt_link_tool on loopback (plain mqtt://: the framing is what is under test; TLS is the same
link with biff_tls under it, see components/mqtt/tests/test_mqtt_link.py). Each broker reads
the CONNECT and answers the way a broken or malicious one would. The client must end within
its bound with the right outcome, never crash (the host-asan run has ASan and UBSan on), and
never send the password anywhere but inside the CONNECT. The agent's broker connection
(components/broker, run by broker_tool) adds its bound from the connect to the last SUBACK: a
broker streaming one endless packet after CONNACK, which holds lwIP's client for ever, is an
error on the page within that bound."""
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
from hostile import HostileServer  # noqa: E402

TESTS = os.environ.get("BIFF_TESTS", os.path.join(HERE, "..", "..", "build", "host", "tests"))
PASSWORD = "mq-hostile-secret-51d2"


def after_connect(reply, hold=2.0):
    """Read the CONNECT, send reply, stay a while, hang up."""
    def scenario(peer):
        peer._fill(5)
        if reply:
            peer.send(reply)
        peer.wait_closed(hold)
    return scenario


def endless_after_connack(seconds):
    """CONNACK, then a PUBLISH claiming 256 MB whose payload never ends: every byte feeds lwIP's
    watchdog, no SUBACK ever comes."""
    def scenario(peer):
        peer._fill(5)
        peer.send(b"\x20\x02\x00\x00" + b"\x30\xff\xff\xff\x7f\x00\x03a/b")
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                peer.send(b"x" * 512)
                time.sleep(0.05)
        except OSError:
            pass  # the client hung up
    return scenario


class HostileBroker(unittest.TestCase):
    def run_broker_tool(self, scenario, suback_ms):
        with HostileServer(scenario) as srv:
            start = time.monotonic()
            r = subprocess.run([os.path.join(TESTS, "broker_tool"), "127.0.0.1", str(srv.port), str(suback_ms)],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, MQTT_PASSWORD=PASSWORD))
            took = time.monotonic() - start
            self.assertEqual(srv.received.count(PASSWORD.encode()), 1)
        self.assertEqual(r.returncode, 1, r.stderr[-2000:])
        self.assertEqual(r.stderr, "")
        return r.stdout.splitlines(), took

    def test_endless_packet_before_suback(self):
        out, took = self.run_broker_tool(endless_after_connack(15), 2000)
        self.assertEqual(out, ["ERROR no CONNACK and SUBACK from the broker in time"])
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 8)

    def test_refused_login_on_the_page(self):
        out, took = self.run_broker_tool(after_connect(b"\x20\x02\x00\x04"), 2000)
        self.assertEqual(out, ["ERROR the broker refused the login: bad user name or password"])
        self.assertLess(took, 5)

    def run_tool(self, scenario):
        with HostileServer(scenario) as srv:
            start = time.monotonic()
            r = subprocess.run([os.path.join(TESTS, "mqtt_link_tool"), "127.0.0.1", str(srv.port), "-",
                                "tb_hostile", "device", "tinybiff/tb_hostile"],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, MQTT_PASSWORD=PASSWORD))
            took = time.monotonic() - start
            self.assertEqual(srv.errors, [])
            # The password went out once, in the CONNECT, and nowhere else.
            self.assertEqual(srv.received.count(PASSWORD.encode()), 1)
        self.assertEqual(r.returncode, 1, r.stderr[-2000:])  # an ordinary failure: no crash
        self.assertEqual(r.stderr, "")
        return r.stdout.splitlines(), took

    def test_connack_refused(self):
        out, took = self.run_tool(after_connect(b"\x20\x02\x00\x05"))
        self.assertEqual(out, ["REFUSED 5"])  # not authorized
        self.assertLess(took, 5)

    def test_garbage_instead_of_connack(self):
        # An HTTP server on the broker's port: the client drops the connection at once.
        out, took = self.run_tool(after_connect(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 8))
        self.assertEqual(out, ["REFUSED 256"])  # MQTT_CONNECT_DISCONNECTED, before any CONNACK
        self.assertLess(took, 5)

    def test_huge_remaining_length(self):
        # A CONNACK claiming 256 MB, then a stream of zeros: nothing is allocated for it, and the
        # connection ends when the broker goes. (lwIP's client reads the first two bytes as the
        # CONNACK whatever the length says; see components/mqtt/README.md.)
        out, took = self.run_tool(after_connect(b"\x20\xff\xff\xff\x7f" + b"\0" * 65536))
        self.assertNotIn("SUBSCRIBED 0", out)
        self.assertTrue(out and out[-1].startswith("CLOSED "), out)
        self.assertLess(took, 10)

    def test_broker_never_answers(self):
        # MQTT_CONNECT_TIMOUT (board/host lwipopts: 10 s; checked on lwIP's 5 s cyclic timer).
        out, took = self.run_tool(after_connect(b"", hold=30))
        self.assertEqual(out, ["REFUSED 257"])  # MQTT_CONNECT_TIMEOUT
        self.assertGreaterEqual(took, 9)
        self.assertLess(took, 19)


if __name__ == "__main__":
    unittest.main(verbosity=2)
