#!/usr/bin/env python3
"""OAuth2 end to end on loopback (issue 16): glewlwyd (Debian's OAuth2 server) issues the tokens,
Dovecot checks them by introspection, headless Chromium approves the device code on glewlwyd's own
page, and tests/integration/oauth_flow (tinybiff's http, json and oauth components over its own
transport and TLS) does the rest:

  - the device flow: the code it shows is approved, and it gets tokens;
  - an expired access token is refused by IMAP and POP3 and classified as such;
  - counts from IMAP (XOAUTH2) and POP3 (OAUTHBEARER) equal doveadm's, past three access-token
    lifetimes (8 s each), refreshing before expiry, without a new approval;
  - the user revokes access in glewlwyd: the next refresh turns the account to "needs
    authorization";
  - no token it held appears in its output, the fixtures' logs or this test's output.
"""
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
import glewlfix  # noqa: E402
from mailfix import MailFixture, _Pki  # noqa: E402

TESTS = os.environ.get("BIFF_TESTS", os.path.join(HERE, "..", "..", "build", "host", "tests"))
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
ARTIFACTS = os.environ.get("BIFF_ARTIFACTS", os.path.join(HERE, "..", "..", "build", "host", "artifacts"))
LIFETIME = 8
LIFETIMES = 3
OAUTH_USER = "user2"


class Lines:
    """The program's stdout, line by line, with a deadline per wait."""

    def __init__(self, proc):
        self.proc, self.all, self.cv = proc, [], threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            with self.cv:
                self.all.append(line.rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.all.append(None)
            self.cv.notify_all()

    def wait_for(self, prefix, timeout, start=0):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(start, len(self.all)):
                    if self.all[i] is None:
                        raise AssertionError(f"oauth_flow ended before {prefix!r}: {self.text()}")
                    if self.all[i].startswith(prefix):
                        return i, self.all[i]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {prefix!r} within {timeout} s: {self.text()}")
                self.cv.wait(left)

    def text(self):
        return "\n".join(x for x in self.all if x is not None)


class OAuthDeviceFlow(unittest.TestCase):
    def test_device_flow_refresh_revoke(self):
        base = os.path.join(WORK, "oauth")
        os.makedirs(base, exist_ok=True)
        os.makedirs(ARTIFACTS, exist_ok=True)
        pki = _Pki(os.path.join(base, "mail"), "ec")
        tokens = os.path.join(base, "tokens")
        if os.path.exists(tokens):
            os.unlink(tokens)
        with glewlfix.Glewlwyd(os.path.join(base, "glewlwyd"), pki, access_token_seconds=LIFETIME,
                               user=OAUTH_USER) as g:
            introspect = f"https://{g.client_id}:{g.client_secret}@localhost:{g.port}/api/oidc/introspect"
            with MailFixture(dir=os.path.join(base, "mail"), users=2, messages=5, unseen=2,
                             oauth2={"user": OAUTH_USER, "introspection_url": introspect}) as fx:
                # Dovecot's own numbers, read before the device's sessions run: the mailbox does not
                # change in this test, and a doveadm read beside them once gave 0 0 under load
                want = fx.counts(OAUTH_USER)
                self.assertEqual((want["messages"], want["unseen"]), (5, 2), want)
                secret_file = os.path.join(base, "client_secret")
                fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(g.client_secret + "\n")
                err_path = os.path.join(base, "oauth_flow.stderr")
                with open(err_path, "w") as err:
                    proc = subprocess.Popen(
                        [os.path.join(TESTS, "oauth_flow"), "--ca", fx.ca,
                         "--device-url", g.url("/api/oidc/device_authorization"),
                         "--token-url", g.url("/api/oidc/token"), "--client-id", g.client_id,
                         "--secret-file", secret_file, "--scope", glewlfix.SCOPE, "--user", OAUTH_USER,
                         "--imaps-port", str(fx.ports["imaps"]), "--pop3s-port", str(fx.ports["pop3s"]),
                         "--imap-mech", "xoauth2", "--lifetime", str(LIFETIME),
                         "--lifetimes", str(LIFETIMES), "--token-file", tokens],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
                out = Lines(proc)
                try:
                    self._drive(g, fx, proc, out, want)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                    proc.wait()
                    print(out.text())
                self.assertEqual(proc.returncode, 0, out.text())
                self._no_token_anywhere(tokens, out.text(), [err_path, fx.log, g.log])

    def _drive(self, g, fx, proc, out, want):
        # 1. The code tinybiff shows is entered on glewlwyd's page by "a person".
        _, line = out.wait_for("CODE ", 30)
        _, code, uri = line.split(" ")
        self.assertTrue(uri.startswith(g.url("/")), line)
        t0 = time.monotonic()
        g.approve(uri, code, shots=ARTIFACTS)
        print(f"approved in Chromium in {time.monotonic() - t0:.1f} s")
        i, _ = out.wait_for("AUTHORIZED", 20)
        # 2. The first token, held past its lifetime, is refused by both servers as a token.
        i, _ = out.wait_for("REFUSED-EXPIRED imap", LIFETIME + 20, i)
        i, _ = out.wait_for("REFUSED-EXPIRED pop3", 20, i)
        # 3. Counts equal Dovecot's own (read at the start), past LIFETIMES lifetimes without a new approval.
        i, _ = out.wait_for("WAITING-REVOKE", LIFETIME * LIFETIMES + 60, i)
        lines = out.all[:i]
        imap = [x for x in lines if x.startswith("COUNTS imap")]
        pop3 = [x for x in lines if x.startswith("COUNTS pop3")]
        refreshed = [x for x in lines if x.startswith("REFRESHED")]
        self.assertGreaterEqual(len(refreshed), LIFETIMES, out.text())
        self.assertGreaterEqual(len(imap), LIFETIMES, out.text())
        self.assertEqual(set(imap), {f"COUNTS imap {want['messages']} {want['unseen']}"}, out.text())
        self.assertEqual(set(pop3), {f"COUNTS pop3 {want['messages']}"}, out.text())
        # a check with the token of the last refresh (IMAP or POP3: the refresh comes before
        # whichever check finds the token due)
        last_refresh = max(k for k, x in enumerate(lines) if x.startswith("REFRESHED"))
        self.assertTrue(any(x.startswith("COUNTS ") for x in lines[last_refresh:]), out.text())
        self.assertFalse([x for x in lines if x.startswith(("CODE", "CHECK-FAILED", "FRESH-TOKEN-REFUSED"))][1:],
                         out.text())
        # 4. The user revokes tinybiff's access on glewlwyd's profile API.
        self.assertGreaterEqual(g.revoke_user_tokens(), 1)
        proc.stdin.write("revoked\n")
        proc.stdin.flush()
        _, verdict = out.wait_for("NEEDS-AUTH", 3 * LIFETIME + 30, i)
        self.assertIn("needs authorization: access was revoked", verdict)
        proc.stdin.close()
        proc.wait(timeout=15)

    def _no_token_anywhere(self, tokens, output, logs):
        with open(tokens) as f:
            held = [t for t in f.read().split("\n") if t]
        os.unlink(tokens)
        self.assertGreaterEqual(len(held), 2 + LIFETIMES)  # first, refreshed ones, the refresh token
        texts = {"oauth_flow output": output}
        for p in logs:
            with open(p, errors="replace") as f:
                texts[p] = f.read()
        for name, text in texts.items():
            for t in held:
                self.assertNotIn(t, text, f"a token appears in {name}")
                self.assertNotIn(t[-24:], text, f"the end of a token appears in {name}")
        self.assertNotIn("eyJ", output)  # no JWT of any kind in what the program printed


if __name__ == "__main__":
    unittest.main()
