#!/usr/bin/env python3
"""The daemon with an OAuth2 account (issue 16), end to end on loopback: glewlwyd (Debian's OAuth2
server) issues the tokens, Dovecot takes them only (passdb oauth2, introspection), headless
Chromium approves the codes on glewlwyd's own page, as a person would on a phone.

  - no refresh token: the account says "needs authorization"; the page's button (CSRF-checked)
    starts the device flow; page, /status.json and log show the URL and the code;
  - approved: the daemon counts what doveadm counts, and keeps counting past three access-token
    lifetimes (8 s) without a new approval; the refresh token is in the secrets file (0600);
  - a restart reuses the stored refresh token (no approval);
  - the user revokes access: "needs authorization" within one check after the token is due,
    error state on the page and in the LED summary; the button and a new approval bring it back;
  - `tinybiff auth ACCOUNT -c FILE` authorizes in the terminal; a token it wrote while the daemon
    ran is not erased when the daemon's own token is revoked;
  - no token (the refresh tokens the secrets file held, any JWT access token) appears in the
    daemon's log, its status output, the CLI's output or the servers' logs.
"""
import os
import re
import stat
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, HERE)
import glewlfix  # noqa: E402
from daemonfix import Daemon  # noqa: E402
from mailfix import MailFixture, _Pki  # noqa: E402

WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
ARTIFACTS = os.environ.get("BIFF_ARTIFACTS", os.path.join(HERE, "..", "..", "build", "host", "artifacts"))
LIFETIME = 8
INTERVAL = 2
USER = "user2"


def post(d, path, fields, origin=True):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(d.url(path), data=data, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if origin:
        req.add_header("Origin", d.url("")[:-1] if d.url("").endswith("/") else d.url(""))

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def page(d):
    with urllib.request.urlopen(d.url("/"), timeout=5) as r:
        return r.read().decode()


class DaemonOAuth(unittest.TestCase):
    def test_daemon_oauth(self):
        base = os.path.join(WORK, "daemon_oauth")
        os.makedirs(base, exist_ok=True)
        os.makedirs(ARTIFACTS, exist_ok=True)
        pki = _Pki(os.path.join(base, "mail"), "ec")
        with glewlfix.Glewlwyd(os.path.join(base, "glewlwyd"), pki, access_token_seconds=LIFETIME, user=USER) as g:
            introspect = f"https://{g.client_id}:{g.client_secret}@localhost:{g.port}/api/oidc/introspect"
            with MailFixture(dir=os.path.join(base, "mail"), users=2, messages=5, unseen=2,
                             oauth2={"user": USER, "introspection_url": introspect}) as fx:
                self.g, self.fx = g, fx
                self.outputs = {}
                self.refresh_tokens = set()
                opts = {"auth": "oauth2", "oauth_provider": "custom",
                        "device_url": g.url("/api/oidc/device_authorization"),
                        "token_url": g.url("/api/oidc/token"), "client_id": g.client_id,
                        "client_secret": g.client_secret, "scope": glewlfix.SCOPE, "interval": str(INTERVAL),
                        "idle": "0"}  # polled, so that every check logs in with the token of the moment
                d = Daemon(os.path.join(base, "daemon"), fx,
                           [("mail", f"imaps://{USER}@localhost:{fx.ports['imaps']}/INBOX", opts)])
                with open(d.secrets, "w") as f:
                    f.write("# no token yet\n")
                try:
                    self._run(d)
                finally:
                    d.stop()
                self._no_token_anywhere(d)

    # ---------------------------------------------------------------- steps

    def _code(self, d):
        """Wait for the code the daemon shows; check page and log show it too."""
        d.wait_for(lambda s: s["accounts"][0].get("auth", {}).get("state") == "waiting", 20, "a code")
        a = d.account("mail")["auth"]
        code, uri = a["user_code"], a["verification_uri"]
        self.assertTrue(uri.startswith(self.g.url("/")), a)
        self.assertGreater(a["code_expires"], time.time() + 60)
        html = page(d)
        self.assertIn(f"enter <span class=\"code\">{code}</span>", html)
        self.assertIn("the code expires in", html)
        self._wait_log(d, f"and enter {code}")
        return code, uri

    def _approve(self, uri, code):
        t0 = time.monotonic()
        self.g.approve(uri, code, shots=ARTIFACTS)
        print(f"approved in Chromium in {time.monotonic() - t0:.1f} s")

    def _wait_log(self, d, text, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in d.read_log():
                return
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in the log:\n{d.read_log()}")

    def _counts_ok(self, s):
        a = s["accounts"][0]
        return a["state"] == "ok" and a["unseen"] == self.want["unseen"]

    def _keep_refresh_token(self, d):
        st = os.lstat(d.secrets)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(d.secrets) as f:
            text = f.read()
        self.assertIn("# no token yet", text)  # other lines stay
        m = re.search(r"^mail = (\S+)$", text, re.M)
        self.assertIsNotNone(m, "no refresh token in the secrets file")
        self.refresh_tokens.add(m.group(1))
        return m.group(1)

    def _authorize_button(self, d):
        html = page(d)
        self.assertIn("Authorize again", html)
        csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', html).group(1)
        self.assertEqual(post(d, "/authorize", {"csrf": "0" * 32, "account": "0"}), 403)  # wrong token
        self.assertEqual(post(d, "/authorize", {"csrf": csrf, "account": "7"}), 400)  # no such account
        self.assertEqual(post(d, "/authorize", {"csrf": csrf, "account": "0"}), 303)

    def _run(self, d):
        fx, g = self.fx, self.g
        self.want = fx.counts(USER)
        # 1. No token: needs authorization, an error (the LED pattern), no check.
        d.start()
        d.wait_for(lambda s: s["accounts"][0].get("auth", {}).get("state") == "needed", 10, "needs authorization")
        a = d.account("mail")
        self.assertEqual((a["state"], a["error"]), ("error", "auth_failed"), a)
        self.assertIn("needs authorization", a["detail"])
        # 2. The page's button: the device flow; approved in the browser: counts.
        self._authorize_button(d)
        code, uri = self._code(d)
        self._approve(uri, code)
        d.wait_for(self._counts_ok, 20, "counts after approval")
        first = self._keep_refresh_token(d)
        # 3. Past three access-token lifetimes, checks every 2 s, no new approval.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3 * LIFETIME + 2:
            s = d.status()
            self.assertTrue(self._counts_ok(s) or s["accounts"][0]["state"] == "checking", s)
            self.assertEqual(s["accounts"][0]["auth"]["state"], "ok", s)
            time.sleep(0.5)
        refreshes = d.read_log().count("authorization: refreshing the token")
        self.assertGreaterEqual(refreshes, 3, d.read_log())
        self.assertEqual(d.read_log().count("to authorize, open"), 1, d.read_log())  # one code only
        self.assertEqual(d.read_log().count("auth_failed: waiting for approval"), 1, d.read_log())  # said once
        # 4. A restart reuses the stored refresh token.
        d.stop()
        d.start()
        d.wait_for(self._counts_ok, 15, "counts after a restart")
        self.assertEqual(d.account("mail")["auth"]["state"], "ok")
        self.assertEqual(self._keep_refresh_token(d), first)
        # 5. Revoked by the user: needs authorization within one check once the token is due.
        self.assertGreaterEqual(g.revoke_user_tokens(), 1)
        t0 = time.monotonic()
        # the auth state turns while the refused check is still under way; the account's error comes as it ends
        d.wait_for(lambda s: s["accounts"][0]["auth"]["state"] == "needed" and s["accounts"][0]["state"] != "checking",
                   LIFETIME + 3 * INTERVAL + 5, "needs authorization after the revocation")
        print(f"needs authorization {time.monotonic() - t0:.1f} s after the revocation")
        a = d.account("mail")
        self.assertEqual((a["state"], a["error"]), ("error", "auth_failed"), a)
        self.assertEqual(a["auth"]["text"], "needs authorization: access was revoked")
        self._wait_log(d, "refresh token removed from")
        # 6. The button and a new approval bring it back.
        self._authorize_button(d)
        code, uri = self._code(d)
        self._approve(uri, code)
        d.wait_for(self._counts_ok, 20, "counts after re-approval")
        self._keep_refresh_token(d)
        self.outputs["status.json"] = str(d.status())
        self.outputs["page"] = page(d)
        d.stop()
        # 7. `tinybiff auth` in the terminal: a name the config lacks is refused, then the real one.
        r = subprocess.run(d.command("auth", "nosuch", "-c", d.config), capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr.strip()), (2, f"tinybiff auth: {d.config} has no account 'nosuch'"))
        p = subprocess.Popen(d.command("auth", "mail", "-c", d.config), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            lines, uri = [], None
            for line in p.stdout:
                lines.append(line)
                if line.strip().startswith("https://"):
                    uri = line.strip()
                elif uri and re.fullmatch(r"\s+[A-Za-z0-9-]{4,}\s*", line):
                    self._approve(uri, line.strip())
            p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out = "".join(lines)
        self.outputs["tinybiff auth"] = out
        print(out)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn(f"authorized: mail has {self.want['unseen']} unread", out)
        self._keep_refresh_token(d)
        # the daemon starts with it
        d.start()
        d.wait_for(self._counts_ok, 15, "counts with the token of tinybiff auth")
        # 8. Another `tinybiff auth` wrote a new token while the daemon ran; then the daemon's
        #    own token is refused: it must not erase the newer one.
        with open(d.secrets) as f:
            text = f.read()
        with open(d.secrets, "w") as f:
            f.write(re.sub(r"^mail = \S+$", "mail = written-since-by-another-auth", text, flags=re.M))
        self.assertGreaterEqual(g.revoke_user_tokens(), 1)
        d.wait_for(lambda s: s["accounts"][0]["auth"]["state"] == "needed", LIFETIME + 3 * INTERVAL + 5,
                   "needs authorization after the second revocation")
        self._wait_log(d, "holds a newer refresh token; reload to use it")
        with open(d.secrets) as f:
            self.assertIn("mail = written-since-by-another-auth\n", f.read())

    def _no_token_anywhere(self, d):
        texts = dict(self.outputs)
        for p in (d.log, self.fx.log, self.g.log, os.path.join(d.dir, "status.json")):
            with open(p, errors="replace") as f:
                texts[p] = f.read()
        self.assertGreaterEqual(len(self.refresh_tokens), 2)
        for name, text in texts.items():
            for t in self.refresh_tokens:
                self.assertNotIn(t, text, f"a refresh token appears in {name}")
            if name not in (self.g.log, self.fx.log):
                self.assertNotIn("eyJ", text, f"a JWT appears in {name}")


if __name__ == "__main__":
    unittest.main()
