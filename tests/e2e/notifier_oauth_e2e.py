#!/usr/bin/env python3
"""OAuth2 on the notifier (issue 16), end to end: the image in QEMU (mps2-an385) authorizes an
IMAP account with the device grant (RFC 8628) against a real glewlwyd, and checks a real Dovecot
whose user logs in only with a token (passdb oauth2, introspection). QEMU's user network forwards
10.0.2.2 to the host's loopback; the provisioning maps "localhost" to it, so TLS checks the
fixtures' certificate names against the test CA, for glewlwyd's endpoints as for Dovecot.

1. Boot with a fresh flash: the user code and the URL appear on the UART, in /status.json and
   on the page (headless Chromium), with the code's time left.
2. Headless Chromium signs in on glewlwyd's own page and enters that code, as a person would.
   The notifier gets Dovecot's counts, and keeps getting them past three access-token lifetimes
   (8 s each) without a new code: the refresh works.
3. Power cut (QEMU killed) and a boot on the same flash: the refresh token kept in flash is used,
   the counts come without a new code.
4. The user revokes the access in glewlwyd: the account turns to "needs authorization" on the
   UART, in /status.json and on the page, and LED0 takes the error pattern (fast blink).
   "Authorize again" on the page (POST /authorize with the page's token; without it: 403)
   starts the flow again: a new code on the UART.
5. No token in any log: the refresh token found in the flash image and the access token found in
   the notifier's RAM (QEMU monitor pmemsave) appear neither on the UART, nor in this test's
   output, nor in glewlwyd's or Dovecot's logs; no JWT at all and no client secret on the UART or
   in this output.

usage: notifier_oauth_e2e.py ELF WORKDIR
"""
import io
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))
import glewlfix  # noqa: E402
import notifier_e2e as ne  # noqa: E402
from mailfix import MailFixture, _Pki  # noqa: E402

LIFETIME = 8  # seconds an access token lasts
USER = "user2"  # the OAuth-only user (Dovecot's passdb oauth2)
IMAP_LABEL = "imap-0"


class Tee(io.TextIOBase):
    """Everything this test prints, kept so it can be searched for tokens at the end."""

    def __init__(self, out):
        self.out, self.buf = out, []

    def write(self, s):
        self.buf.append(s)
        return self.out.write(s)

    def flush(self):
        self.out.flush()

    def text(self):
        return "".join(self.buf)


def monitor(q, cmd):
    q.led_read()  # opens the monitor connection
    q.mon.sendall(cmd.encode() + b"\n")
    return q._mon_until_prompt()


def ram_image(q, path):
    """The notifier's RAM (0x20000000, 128 KB) as QEMU holds it."""
    if os.path.exists(path):
        os.remove(path)
    answer = monitor(q, f'pmemsave 0x20000000 0x20000 "{path}"')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not os.path.exists(path) or os.path.getsize(path) < 0x20000):
        time.sleep(0.1)
    if not os.path.exists(path):
        raise ne.Fail(f"pmemsave wrote no {path}: {answer[-200:]!r}")
    with open(path, "rb") as f:
        return f.read()


def code_line(q, start, timeout):
    i, m = q.wait_for(rf"^oauth {IMAP_LABEL}: open (\S+) and enter (\S+) \(the code expires in (\d+) s\)$", start,
                      timeout)
    return i, m.group(1), m.group(2), int(m.group(3))


def page_shows_code(port, uri, code):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = ne.chromium()
    try:
        drv.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(drv, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".auth .code"))
        panel = drv.find_element(By.CSS_SELECTOR, ".auth")
        text = panel.text
        ne.expect(f"Open {uri} and enter {code}" in text, f"the page shows \"Open URL and enter {code}\"")
        left = drv.find_element(By.CSS_SELECTOR, ".auth .countdown").text
        ne.expect(re.match(r"the code expires in \d+ min", left) is not None, f"with its time left ({left!r})")
        errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
        ne.expect(not errors, f"no errors in the browser console: {errors}")
    finally:
        drv.quit()


def authorize_again_on_page(port):
    """The page's "Authorize again" button: a POST /authorize with the token of /status.json."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = ne.chromium()
    try:
        drv.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(drv, 15)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".auth.needed button.authorize"))
        ne.expect("needs authorization" in drv.find_element(By.CSS_SELECTOR, ".auth").text,
                  "the page says the account needs authorization")
        drv.find_element(By.CSS_SELECTOR, ".auth button.authorize").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".auth.waiting .code") or
                   d.find_elements(By.CSS_SELECTOR, ".auth.working"))
    finally:
        drv.quit()


def run(elf, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    pki = _Pki(os.path.join(work, "mail"), "ec")
    http_port = ne.free_port()
    qemu = None
    uart = []
    with glewlfix.Glewlwyd(os.path.join(work, "glewlwyd"), pki, access_token_seconds=LIFETIME, user=USER) as g:
        introspect = f"https://{g.client_id}:{g.client_secret}@localhost:{g.port}/api/oidc/introspect"
        with MailFixture(dir=os.path.join(work, "mail"), users=2, messages=5, unseen=2,
                         oauth2={"user": USER, "introspection_url": introspect}) as fx:
            want = fx.counts(USER)
            cfg = os.path.join(work, "notifier.cfg")
            flash = os.path.join(work, "flash.bin")
            with ne.private_file(cfg) as f:
                f.write(f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 5\nca {fx.ca}\n"
                        f"account imaps://{USER};AUTH=XOAUTH2@localhost:{fx.ports['imaps']}/INBOX\n"
                        "auth oauth2\noauth_provider custom\n"
                        f"token_url {g.url('/api/oidc/token')}\n"
                        f"device_url {g.url('/api/oidc/device_authorization')}\n"
                        f"client_id {g.client_id}\nclient_secret {g.client_secret}\nscope {glewlfix.SCOPE}\n")
            try:
                # ---- 1. the code on the UART, in /status.json and on the page
                qemu = ne.Qemu(elf, cfg, flash, os.path.join(work, "trace1.log"), http_port)
                t0 = time.monotonic()
                _, uri, code, left = code_line(qemu, 0, 60)
                ne.expect(uri.startswith(g.url("/")) and 0 < left <= 600,
                          f"the UART shows where to enter the code {code} and its time left ({left} s)")
                st = ne.fetch_json(http_port)
                auth = st["accounts"][0]["auth"]
                ne.expect(auth["state"] == "waiting" and auth["user_code"] == code and auth["verification_uri"] == uri
                          and auth["code_expires"] > st["now"], f"/status.json has the code: {auth}")
                page_shows_code(http_port, uri, code)

                # ---- 2. approval; counts past three lifetimes without a new code
                g.approve(uri, code)
                mark = qemu.mark()
                i, _ = qemu.wait_for(rf"^check {IMAP_LABEL} ok ", mark, 30)
                approved_at = time.monotonic()
                first = ne.parse_kv(qemu.lines[i])
                ne.expect((int(first["messages"]), int(first["unseen"])) == (want["messages"], want["unseen"]),
                          f"after the approval, Dovecot's counts over XOAUTH2: {qemu.lines[i]}")
                qemu.wait_for(rf"^check {IMAP_LABEL} ok ", i + 1, LIFETIME * 3 + 30)
                while time.monotonic() - approved_at < 3 * LIFETIME + 2:
                    time.sleep(0.5)
                later = qemu.mark()
                qemu.wait_for(rf"^check {IMAP_LABEL} ok ", later, 20)
                oks = qemu.grep(rf"^check {IMAP_LABEL} ok ", i)
                ne.expect(len(oks) >= 4 and not qemu.grep(rf"^check {IMAP_LABEL} failed", i)
                          and len(qemu.grep(rf"^oauth {IMAP_LABEL}: open ", i)) == 0,
                          f"{len(oks)} checks ok over {time.monotonic() - approved_at:.0f} s "
                          f"(> 3 lifetimes of {LIFETIME} s), no failure, no new code")
                ram = ram_image(qemu, os.path.join(work, "ram.bin"))
                uart += qemu.lines
                qemu.stop()  # a power cut
                qemu = None

                # ---- 3. the refresh token kept in flash after a power cut
                qemu = ne.Qemu(elf, cfg, flash, os.path.join(work, "trace2.log"), http_port)
                i, _ = qemu.wait_for(rf"^check {IMAP_LABEL} (ok|failed)", 0, 60)
                ne.expect(qemu.lines[i].startswith(f"check {IMAP_LABEL} ok ") and
                          not qemu.grep(rf"^oauth {IMAP_LABEL}: open "),
                          "after the power cut the stored refresh token gets the counts, no new code")

                # ---- 4. revoked: needs authorization, LED error pattern, authorize again
                ne.expect(g.revoke_user_tokens() >= 1, "the user revokes the access in glewlwyd")
                mark = qemu.mark()
                qemu.wait_for(rf"^oauth {IMAP_LABEL}: needs authorization", mark, 3 * LIFETIME + 20)
                qemu.wait_for(r"^led fast ", mark, 10)
                levels = {v & 1 for v in qemu.led_samples(1.5)}
                ne.expect(levels == {0, 1}, "LED0 blinks fast: the error pattern")
                st = ne.fetch_json(http_port)
                auth = st["accounts"][0]["auth"]
                ne.expect(auth["state"] == "needed" and "needs authorization" in auth["text"],
                          f"/status.json says so: {auth}")
                code_, _, _ = ne.http(http_port, "POST", "/authorize", "csrf=" + "0" * 32 + "&account=0")
                ne.expect(code_ == 403 and not qemu.grep(rf"^oauth {IMAP_LABEL}: open ", mark),
                          "POST /authorize without the page's token is refused (403)")
                _, hdrs, _ = ne.http(http_port, "GET", "/status.json")
                code_, _, _ = ne.http(http_port, "POST", "/authorize",
                                      f"csrf={hdrs.get('X-CSRF-Token', '')}&account=1")
                ne.expect(code_ == 403, "POST /authorize for an account that is not OAuth2 is refused (403)")
                authorize_again_on_page(http_port)
                _, uri2, code2, _ = code_line(qemu, mark, 30)
                ne.expect(code2 != code, f"\"Authorize again\" starts the flow: a new code {code2}")
                uart += qemu.lines
                qemu.stop()
                qemu = None
                ne.log(f"flow done in {time.monotonic() - t0:.0f} s")
            finally:
                if qemu:
                    uart += qemu.lines
                    qemu.stop()

            # ---- 5. no token anywhere
            with open(flash, "rb") as f:
                stored = set(re.findall(rb"[A-Za-z0-9]{64,}", f.read()))
            ne.expect(stored, "the flash image held a refresh token")
            access = set(re.findall(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", ram))
            ne.expect(access, "the notifier's RAM held an access token (a JWT)")
            secrets = [t.decode() for t in stored | access]
            texts = {"UART": "\n".join(uart), "test output": sys.stdout.text()}
            for p in (g.log, fx.log):
                with open(p, errors="replace") as f:
                    texts[os.path.basename(p)] = f.read()
            for name, text in texts.items():
                leaked = [t for t in secrets if t in text or t[-24:] in text]
                ne.expect(not leaked, f"none of the {len(secrets)} tokens held appears in the {name}")
            for name in ("UART", "test output"):
                ne.expect("eyJ" not in texts[name], f"no JWT at all in the {name}")
                ne.expect(g.client_secret not in texts[name], f"no client secret in the {name}")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout = Tee(sys.stdout)
    try:
        run(sys.argv[1], sys.argv[2])
    except ne.Fail as e:
        ne.log(f"FAIL: {e}")
        return 1
    ne.log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
