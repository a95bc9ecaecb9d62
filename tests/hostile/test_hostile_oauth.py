#!/usr/bin/env python3
"""Hostile OAuth2 endpoints (issue 16) against tinybiff's http, json and oauth components, run by
tests/integration/oauth_flow --probe over real TLS on loopback. The device endpoint answers well;
the token endpoint (or, for expires_in, the device endpoint) answers the way a broken or malicious
server would. Each must end within its bound with the right plain-language error, and the
client secret must never come back in what the client prints.

The same servers (but the drip, which only the agent's 30 s check time-out would end) then meet
the agent's own token exchanges (components/agent/src/agent_oauth.c) through `tinybiff auth`:
each failure is said in plain words and retried, the redirect is not followed, and neither the
client secret nor the device code shows in what it prints."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
from hostile import HostileServer  # noqa: E402
from mailfix import _Pki  # noqa: E402

TESTS = os.environ.get("BIFF_TESTS", os.path.join(HERE, "..", "..", "build", "host", "tests"))
BIN = os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin"))
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
SECRET = "cs-hostile-secret-7c1e"
DEVICE = {"device_code": "dc-1", "user_code": "HOST-ILE1", "verification_uri": "https://localhost/device",
          "expires_in": 600, "interval": 1}


def response(status, body=b"", ctype="application/json", extra=""):
    if isinstance(body, str):
        body = body.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def read_request(peer):
    """Request line, headers and the body by Content-Length; returns (path, body)."""
    line = peer.recv_line()
    length = 0
    while True:
        h = peer.recv_line()
        if not h:
            break
        if h.lower().startswith(b"content-length:"):
            length = int(h.split(b":")[1])
    while len(peer.buf) < length:
        peer._fill(10)
    body, peer.buf = peer.buf[:length], peer.buf[length:]
    return line.split(b" ")[1].decode(), body


def huge(peer):
    body = b'{"error":"' + b"x" * (1 << 20) + b'"}'
    peer.send(response("200 OK", body))


def deep(peer):
    peer.send(response("200 OK", '{"access_token":"a","x":' + "[" * 2000 + "]" * 2000 + "}"))


def html(peer):
    peer.send(response("500 Internal Server Error", "<html><body><h1>500</h1>Oops</body></html>",
                       ctype="text/html"))


def redirect(peer):
    peer.send(response("302 Found", "", extra="Location: https://127.0.0.1:1/steal\r\n"))


def drip(peer):
    peer.send_slowly(response("200 OK", '{"access_token":"a","token_type":"Bearer"}'), interval=0.5)


def chunk_longer(peer):  # says 0x10, sends 40 bytes before the CRLF
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"10\r\n" + b'{"access_token":"aaaaaaaaaaaaaaaaaaaaaa"}' + b"\r\n0\r\n\r\n")


def chunk_huge(peer):  # says 7 FFFFFFF bytes
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"7FFFFFF\r\n{}")


def chunk_short(peer):  # says 0x100, sends 10 and closes
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"100\r\n{\"a\":\"bcd\"")
    peer.close()


# name: (token endpoint behaviour, device reply, expected detail, expected state text, bound s)
SCENARIOS = {
    "huge JSON": (huge, DEVICE, "response body too large", "authorization server failed; retrying", 5),
    "deep nesting": (deep, DEVICE, "reply: JSON nested too deep", "authorization server failed; retrying", 5),
    "missing expires_in": (None, {k: v for k, v in DEVICE.items() if k != "expires_in"},
                           "reply lacks expires_in",
                           "authorization server failed; retrying", 5),
    "HTML error page": (html, DEVICE, "HTTP 500, not JSON",
                        "authorization server failed; retrying", 5),
    "302 redirect": (redirect, DEVICE, "HTTP 302 redirect, not followed",
                     "authorization server failed; retrying", 5),
    "slow drip": (drip, DEVICE, "no complete response within 3 s",
                  "authorization server failed; retrying", 8),
    "chunk longer than it says": (chunk_longer, DEVICE, "bad chunked body",
                                  "authorization server failed; retrying", 5),
    "chunk size beyond the body": (chunk_huge, DEVICE, "response body too large",
                                   "authorization server failed; retrying", 5),
    "chunk shorter than it says": (chunk_short, DEVICE, "response cut short",
                                   "authorization server failed; retrying", 5),
}


class HostileTokenEndpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = _Pki(os.path.join(WORK, "hostile-oauth"), "ec")
        cls.pki.ensure()
        fd, cls.secret_file = tempfile.mkstemp(prefix="oauth-secret-")
        with os.fdopen(fd, "w") as f:
            f.write(SECRET + "\n")

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.secret_file)

    def run_scenario(self, name):
        token_play, device_reply, want_detail, want_state, bound = SCENARIOS[name]
        paths = []

        def serve(peer):
            path, body = read_request(peer)
            paths.append(path)
            if SECRET.encode() not in body:
                raise AssertionError("client secret missing from the form body")
            if path == "/device":
                peer.send(response("200 OK", json.dumps(device_reply)))
            else:
                token_play(peer)
            peer.wait_closed(5)

        with HostileServer(serve, tls_cert=self.pki.cert("good"), tls_key=self.pki.key("good"),
                           implicit_tls=True) as srv:
            url = f"https://localhost:{srv.port}"
            t0 = time.monotonic()
            r = subprocess.run([os.path.join(TESTS, "oauth_flow"), "--probe", "--ca", self.pki.ca,
                                "--device-url", url + "/device", "--token-url", url + "/token",
                                "--client-id", "tinybiff-dev", "--secret-file", self.secret_file,
                                "--scope", "mail", "--exchange-timeout", "3"],
                               capture_output=True, text=True, timeout=bound + 20)
            elapsed = time.monotonic() - t0
        self.assertEqual(srv.errors, [])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout.strip()
        print(f"{name}: {out}")
        self.assertTrue(out.startswith("RESULT "), out)
        state, detail, _ = out[len("RESULT "):].split(" | ")
        self.assertEqual(detail, want_detail, out)
        self.assertEqual(state, want_state, out)
        self.assertLess(elapsed, bound, out)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertEqual(paths[0], "/device")
        self.assertNotIn("/steal", paths)  # a redirect is never followed
        self.assertLessEqual(len(paths), 2, paths)

    def run_agent(self, name, want):
        token_play, device_reply = SCENARIOS[name][:2]
        paths = []

        def serve(peer):
            path, body = read_request(peer)
            paths.append(path)
            if path == "/device":
                peer.send(response("200 OK", json.dumps(device_reply)))
            else:
                token_play(peer)
            peer.wait_closed(5)

        with HostileServer(serve, tls_cert=self.pki.cert("good"), tls_key=self.pki.key("good"),
                           implicit_tls=True) as srv, tempfile.TemporaryDirectory() as d:
            url = f"https://localhost:{srv.port}"
            conf, secrets = os.path.join(d, "config"), os.path.join(d, "secrets")
            with open(conf, "w") as f:
                f.write(f"config tinybiff 'main'\n\toption ca '{self.pki.ca}'\n\toption secrets '{secrets}'\n"
                        f"config account 'a'\n\toption url 'imaps://u@localhost:1/INBOX'\n"
                        f"\toption auth 'oauth2'\n\toption oauth_provider 'custom'\n"
                        f"\toption device_url '{url}/device'\n\toption token_url '{url}/token'\n"
                        f"\toption client_id 'tinybiff-dev'\n\toption client_secret '{SECRET}'\n"
                        f"\toption scope 'mail'\n")
            p = subprocess.Popen([os.path.join(BIN, "tinybiff"), "auth", "a", "-c", conf], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            out, end = [], time.monotonic() + 10
            try:
                os.set_blocking(p.stdout.fileno(), False)
                while time.monotonic() < end and not any(want in x for x in out):
                    line = p.stdout.readline()
                    if line:
                        out.append(line)
                    else:
                        time.sleep(0.05)
            finally:
                p.kill()
                p.wait()
                p.stdout.close()
        text = "".join(out)
        print(f"{name} (agent): {[x.strip() for x in out if want in x][:1]}")
        self.assertIn(f"authorization server failed; retrying: {want}", text)
        self.assertEqual(srv.errors, [])
        self.assertNotIn(SECRET, text)
        self.assertNotIn("dc-1", text)
        self.assertNotIn("/steal", paths)

    def test_agent(self):
        agent_detail = {
            "huge JSON": "token response over",
            "deep nesting": "reply: JSON nested too deep",
            "missing expires_in": "reply lacks expires_in",
            "HTML error page": "HTTP 500, not JSON",
            "302 redirect": "HTTP 302 redirect, not followed",
            "chunk longer than it says": "token response: bad chunked body",
            "chunk size beyond the body": "token response over",
            "chunk shorter than it says": "token response: response cut short",
        }
        for name, want in agent_detail.items():
            with self.subTest(name):
                self.run_agent(name, want)

    def test_scenarios(self):
        for name in SCENARIOS:
            with self.subTest(name):
                self.run_scenario(name)
        print(f"hostile oauth: {len(SCENARIOS)} scenarios")


if __name__ == "__main__":
    unittest.main()
