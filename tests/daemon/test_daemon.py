#!/usr/bin/env python3
"""The daemon against real Dovecot: three accounts (IMAP with IDLE, IMAP polling, POP3), a wrong
password, a Dovecot restart, LEDs in a mimic sysfs tree, SIGHUP reload and clean SIGTERM."""
import json
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, HERE)
from mailfix import MailFixture  # noqa: E402
from daemonfix import Daemon, BIN  # noqa: E402

WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))


def by_name(st):
    return {a["name"]: a for a in st["accounts"]}


def read_until(read, done, timeout):
    """read() again until done(value) or timeout; returns the last value. Files the daemon writes
    follow its model within a loop turn, and a read can fall between truncation and write."""
    end = time.monotonic() + timeout
    while True:
        try:
            value = read()
        except (OSError, ValueError):
            value = None
        if done(value) or time.monotonic() >= end:
            return value
        time.sleep(0.05)


def read_file(path):
    with open(path) as f:
        return f.read()


def process_memory(pid, needle):
    """The writable memory of a process that holds needle (b"" when none does): reading
    /proc/PID/mem needs ptrace rights over it (its parent, or root). Sanitizer shadow maps
    (terabytes, mostly unbacked) are skipped."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for m in maps:
            addr, perms = m.split()[:2]
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if not perms.startswith("rw") or hi - lo > 256 * 1024 * 1024:
                continue
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except OSError:
                continue
            if needle in chunk:
                return needle
    return b""


def acknowledge(d):
    """POST /ack the way the page's button does: its token, the daemon's own Origin."""
    import re
    import urllib.request
    page = urllib.request.urlopen(d.url("/")).read().decode()
    token = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
    req = urllib.request.Request(d.url("/ack"), data=f"csrf={token}".encode(), method="POST",
                                 headers={"Origin": f"http://127.0.0.1:{d.port}"})
    urllib.request.urlopen(req)


class DaemonAgainstDovecot(unittest.TestCase):
    def test_three_accounts_idle_backoff_restart(self):
        with MailFixture(dir=os.path.join(WORK, "daemon-main"), users=3, messages=6, unseen=2) as fx:
            sysfs = os.path.join(fx.dir, "sysfs-leds")
            for led in ("mail", "work"):
                os.makedirs(os.path.join(sysfs, led), exist_ok=True)
                for f in ("brightness", "trigger", "delay_on", "delay_off"):
                    open(os.path.join(sysfs, led, f), "w").close()
            accounts = [
                ("idle", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "1"}),
                ("poll", f"imap://user2@localhost:{fx.ports['imap']}/INBOX", {"idle": "0", "folder": ["INBOX", "Archive"]}),
                ("pop", f"pop3s://user3@localhost:{fx.ports['pop3s']}", {}),
                ("badpw", f"imaps://user3@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"}),
            ]
            leds = {"mail": {"sysfs": "mail", "account": ["idle", "poll", "pop"]},
                    "work": {"sysfs": "work", "account": ["badpw"]}}
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts, leds=leds, secrets={"badpw": "wrong-password-123"})
            with d.start(env={"TINYBIFF_SYSFS_LEDS": sysfs}):
                d.wait_for(lambda s: all(a["last_check"] for a in s["accounts"]), 10, "first checks")
                st = by_name(d.status())
                want = fx.counts("user1")
                self.assertEqual((st["idle"]["state"], st["idle"]["unseen"], st["idle"]["new"]), ("ok", want["unseen"], 0))
                self.assertEqual(st["poll"]["folders"][0]["unseen"], fx.counts("user2")["unseen"])
                self.assertEqual(st["poll"]["folders"][1]["unseen"], fx.counts("user2", "Archive")["unseen"])
                self.assertEqual(st["pop"]["unseen"], fx.counts("user3")["messages"])
                self.assertEqual(st["idle"]["tls"], "TLSv1.3")
                self.assertEqual(st["poll"]["tls"], "TLSv1.3")  # imap:// upgraded with STARTTLS

                # Wrong password: error class shown, retried after the backoff, not the interval.
                bad = st["badpw"]
                self.assertEqual((bad["state"], bad["error"]), ("error", "auth_failed"))
                self.assertTrue(13 <= bad["next_check"] - bad["last_check"] <= 17, bad)
                self.assertNotIn("wrong-password-123", d.read_log())
                with open(os.path.join(sysfs, "work", "trigger")) as f:
                    self.assertEqual(f.read(), "timer")  # fast blink for the error
                with open(os.path.join(sysfs, "work", "delay_on")) as f:
                    self.assertEqual(f.read(), "128")
                with open(os.path.join(sysfs, "mail", "brightness")) as f:
                    self.assertEqual(f.read(), "1")      # steady: unread mail

                # The JSON file for router widgets says the same, rewritten when something changes.
                import json
                path = os.path.join(d.dir, "status.json")
                d.wait_for(lambda s: os.path.exists(path), 3, "status JSON file")
                with open(path) as f:
                    self.assertEqual([a["name"] for a in json.load(f)["accounts"]], ["idle", "poll", "pop", "badpw"])
                # Once the accounts settle it stays put (it used to be rewritten every second).
                for _ in range(5):
                    mtime = os.stat(path).st_mtime_ns
                    time.sleep(2.5)
                    if os.stat(path).st_mtime_ns == mtime:
                        break
                else:
                    self.fail("status JSON file rewritten although nothing changed")

                # IDLE: a delivered message reaches /status.json within 2 s.
                d.wait_for(lambda s: "idling on INBOX" in d.read_log(), 5, "IDLE")
                fx.deliver("user1", subject="idle test")
                took = d.wait_for(lambda s: by_name(s)["idle"]["new"] == 1, 2.0, "IDLE delivery")
                print(f"IDLE delivery reached /status.json after {took:.2f} s")
                delay_on = read_until(lambda: read_file(os.path.join(sysfs, "mail", "delay_on")),
                                      lambda v: v == "512", 2)
                self.assertEqual(delay_on, "512")    # slow blink: new mail

                # Dovecot restarts: the idle session dies, the daemon falls back and recovers.
                idles = d.read_log().count("idling on INBOX")
                fx.restart()
                d.wait_for(lambda s: "idle session lost" in d.read_log(), 10, "idle loss noticed")
                # Retries back off (15 s, then 30 s) while the server is away; IDLE comes back.
                took = d.wait_for(lambda s: d.read_log().count("idling on INBOX") > idles
                                  and by_name(s)["idle"]["state"] == "ok", 60, "IDLE again after restart")
                print(f"IDLE back {took:.1f} s after the Dovecot restart")
                fx.deliver("user1", subject="after restart")
                d.wait_for(lambda s: by_name(s)["idle"]["new"] == 2, 3.0, "delivery after restart")

                # SIGHUP with a broken config keeps the running one.
                with open(d.config) as f:
                    good = f.read()

                def replace_config(text):  # as UCI does it: a new file renamed over the old one
                    with open(d.config + ".new", "w") as f:
                        f.write(text)
                    os.replace(d.config + ".new", d.config)
                replace_config(good + "config tinybiff 'main'\n\toption nonsense '1'\n")
                before = len(d.read_log())
                d.signal(signal.SIGHUP)
                d.wait_for(lambda s: "reload refused" in d.read_log()[before:], 5, "reload refused")
                self.assertEqual(len(d.status()["accounts"]), 4)
                replace_config(good)
            self.assertEqual(d.proc.returncode, 0, d.read_log())
            self.assertIn("stopping", d.read_log())
            with open(os.path.join(sysfs, "mail", "brightness")) as f:
                self.assertEqual(f.read(), "0")  # LEDs off after a clean stop

    def test_new_survives_restart_and_ack_clears_it(self):
        with MailFixture(dir=os.path.join(WORK, "daemon-state"), users=1, messages=3, unseen=1) as fx:
            accounts = [("imap", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"}),
                        ("pop", f"pop3s://user1@localhost:{fx.ports['pop3s']}", {})]
            # One check at a time: parallel IMAP and POP3 sessions of one Dovecot user right after
            # a delivery can see a stale UIDNEXT (see test_state_many.py); not what this tests.
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts, extra_main="\toption max_parallel '1'")
            with d:
                d.wait_for(lambda s: all(a["state"] == "ok" for a in s["accounts"]), 10, "first checks")
            fx.deliver("user1")  # while the daemon is off
            with d.start():
                d.wait_for(lambda s: all(a["state"] == "ok" for a in s["accounts"]), 10, "checks after restart")
                st = by_name(d.status())
                self.assertEqual((st["imap"]["new"], st["pop"]["new"]), (1, 1))
            with d.start():  # not acknowledged: still new, not lost, not doubled
                d.wait_for(lambda s: all(a["state"] == "ok" for a in s["accounts"]), 10, "checks")
                st = by_name(d.status())
                self.assertEqual((st["imap"]["new"], st["pop"]["new"]), (1, 1))
                acknowledge(d)
                d.wait_for(lambda s: all(a["new"] == 0 for a in s["accounts"]), 2, "acknowledge")
            with d.start():  # acknowledged mail is never announced again after a restart
                d.wait_for(lambda s: all(a["state"] == "ok" for a in s["accounts"]), 10, "checks")
                self.assertEqual([a["new"] for a in d.status()["accounts"]], [0, 0])

    def test_acknowledge_during_a_pop3_listing(self):
        """An acknowledge that lands while a POP3 check is half-way through its listing: the check
        must not bring the acknowledged mail back as new, and mail listed after it stays new."""
        import threading
        sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
        from hostile import HostileServer
        import responders as R
        uids = [b"a", b"b"]
        uidl = R.HeldUidl(uids)
        greet = threading.Event()
        greet.set()

        def session(peer):
            greet.wait(30)  # cleared: the next check connects and waits here
            R.pop3_session(peer, uids=uids, on={b"UIDL": uidl})

        with MailFixture(dir=os.path.join(WORK, "daemon-ackrace"), users=1) as fx, \
                HostileServer(session,
                              tls_cert=fx.pki.cert("good"), tls_key=fx.pki.key("good"), implicit_tls=True) as srv:
            d = Daemon(os.path.join(fx.dir, "daemon"), fx,
                       [("pop", f"pop3s://victim@localhost:{srv.port}", {"interval": "1"})])
            if os.path.exists(d.state):  # left by an earlier run: this one starts from a baseline
                os.remove(d.state)
            with d:
                d.wait_for(lambda s: s["accounts"][0]["state"] == "ok", 10, "the baseline check")
                uids += [b"c", b"d"]
                d.wait_for(lambda s: s["accounts"][0]["new"] == 2, 10, "two new messages")
                uidl.hold.set()
                self.assertTrue(uidl.paused.wait(10), "a check stopped half-way through its listing")
                acknowledge(d)
                d.wait_for(lambda s: s["accounts"][0]["new"] == 0, 5, "the acknowledge")
                started = srv.connections
                greet.clear()
                uidl.release.set()
                # The next check has connected (and waits for its greeting): the held one is over
                # and its result is on the page, not yet overwritten by a later check.
                end = time.monotonic() + 10
                while srv.connections < started + 1 and time.monotonic() < end:
                    time.sleep(0.05)
                self.assertGreater(srv.connections, started, "the account is checked again after the held check")
                self.assertEqual(d.status()["accounts"][0]["new"], 0, "acknowledged mail came back as new")
                greet.set()
                uids.append(b"e")
                d.wait_for(lambda s: s["accounts"][0]["new"] == 1, 10, "mail after the acknowledge is new")
            self.assertEqual(srv.errors, [])

    def test_unusable_state_file_is_on_the_page(self):
        with MailFixture(dir=os.path.join(WORK, "daemon-nostate"), users=1, messages=2, unseen=1) as fx:
            accounts = [("imap", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"})]
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts)
            if os.path.isfile(d.state):  # left by an earlier run of this test
                os.remove(d.state)
            os.makedirs(d.state, exist_ok=True)  # a directory where the state file should be: unusable
            with d:
                d.wait_for(lambda s: s["accounts"][0]["state"] == "ok", 10, "the check, without sync state")
                st = d.status()
                self.assertIn("sync state file unusable", st["problem"] or "")
                import urllib.request
                page = urllib.request.urlopen(d.url("/")).read().decode()
                self.assertIn('<p class="err" id="problem">sync state file unusable', page)
                problem = read_until(lambda: json.loads(read_file(os.path.join(d.dir, "status.json")))["problem"],
                                     bool, 5)
                self.assertIn("sync state file unusable", problem or "")
            os.rmdir(d.state)
            with d.start():
                d.wait_for(lambda s: s["accounts"][0]["state"] == "ok", 10, "the check, with sync state")
                self.assertIsNone(d.status()["problem"])

    def test_unanswered_connect_does_not_hold_up_others(self):
        import socket
        with MailFixture(dir=os.path.join(WORK, "daemon-blackhole"), users=1, messages=2, unseen=1) as fx:
            # A listener whose accept queue is full: the kernel drops further SYNs, so a connect
            # to it hangs like one to a dead host (without leaving loopback).
            hole = socket.socket()
            hole.bind(("127.0.0.1", 0))
            hole.listen(0)
            fillers = []
            for _ in range(2):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(hole.getsockname())
                fillers.append(c)
            time.sleep(0.2)
            port = hole.getsockname()[1]
            accounts = [("dead", f"imaps://user1@127.0.0.1:{port}/INBOX", {"idle": "0"}),
                        ("idle", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "1"})]
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts)
            try:
                with d:
                    d.wait_for(lambda s: by_name(s)["dead"]["state"] == "checking"
                               and "idling on INBOX" in d.read_log(), 5, "IDLE while a connect hangs")
                    fx.deliver("user1")
                    d.wait_for(lambda s: by_name(s)["idle"]["new"] == 1, 2.0, "delivery while a connect hangs")
                    d.wait_for(lambda s: by_name(s)["dead"]["state"] == "error", 15, "connect timeout")
                    dead = by_name(d.status())["dead"]
                    self.assertEqual(dead["error"], "network")
                    self.assertIn("timed out", dead["detail"])
            finally:
                for c in fillers:
                    c.close()
                hole.close()

    def test_csrf_and_methods(self):
        import urllib.error
        import urllib.request
        with MailFixture(dir=os.path.join(WORK, "daemon-csrf"), users=1) as fx:
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, [("a", f"imaps://user1@localhost:{fx.ports['imaps']}/", {})])
            with d:
                for data, hdrs in ((b"csrf=00000000000000000000000000000000", {}),
                                   (b"", {}),
                                   (None, {"Origin": "http://evil.example"}),
                                   (None, {"Sec-Fetch-Site": "cross-site"})):
                    page = urllib.request.urlopen(d.url("/")).read().decode()
                    import re
                    token = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
                    body = data if data is not None else f"csrf={token}".encode()
                    req = urllib.request.Request(d.url("/ack"), data=body, method="POST", headers=hdrs)
                    with self.assertRaises(urllib.error.HTTPError) as cm:
                        urllib.request.urlopen(req)
                    self.assertEqual(cm.exception.code, 403)
                req = urllib.request.Request(d.url("/"), method="DELETE")
                with self.assertRaises(urllib.error.HTTPError) as cm:
                    urllib.request.urlopen(req)
                self.assertEqual(cm.exception.code, 405)
                page = urllib.request.urlopen(d.url("/")).read().decode()
                self.assertNotIn(fx.users["user1"], page)
                self.assertNotIn("<script", page)

    def test_files_and_secrets_are_handled_safely(self):
        """Links where the daemon writes are not followed, the secrets file must be private, and
        secrets leave neither the environment block nor a copy of the file in memory."""
        import subprocess
        with MailFixture(dir=os.path.join(WORK, "daemon-files"), users=2, messages=2, unseen=1) as fx:
            accounts = [("filed", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"}),
                        ("envd", f"imaps://user2@localhost:{fx.ports['imaps']}/INBOX",
                         {"idle": "0", "secret_env": "TB_TEST_SECRET"})]
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts)
            victim, empty_victim = os.path.join(fx.dir, "victim"), os.path.join(fx.dir, "empty-victim")
            status_json = os.path.join(d.dir, "status.json")
            for p in (d.state, status_json, status_json + ".tmp", victim, empty_victim):
                if os.path.lexists(p):
                    os.remove(p)
            with open(victim, "w") as f:
                f.write("precious\n")
            open(empty_victim, "w").close()
            os.symlink(victim, status_json + ".tmp")  # the old fixed temporary name
            os.symlink(empty_victim, d.state)          # an empty file became a 32 KB flash image

            # A secrets file others can read is refused with the exact fix, as ssh does.
            os.chmod(d.secrets, 0o640)
            r = subprocess.run([BIN, "run", "-c", d.config], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(f"chmod 600 '{d.secrets}'", r.stderr)
            os.chmod(d.secrets, 0o600)

            with d.start(env={"TB_TEST_SECRET": fx.users["user2"]}):
                d.wait_for(lambda s: all(a["state"] == "ok" for a in s["accounts"]), 10, "both checks")
                self.assertIn("sync state file unusable", d.status()["problem"] or "")
                self.assertIn("is a symlink", d.read_log())
                self.assertTrue(read_until(lambda: json.loads(read_file(status_json)), bool, 5))
                # The environment block /proc shows no longer holds the secret.
                with open(f"/proc/{d.proc.pid}/environ", "rb") as f:
                    environ = f.read()
                self.assertFalse(fx.users["user2"].encode() in environ, "secret_env's value in /proc/PID/environ")
                # No copy of the secrets file's text is left in the daemon's memory.
                line = f"filed = {fx.users['user1']}".encode()
                self.assertFalse(process_memory(d.proc.pid, line), "a secrets file line in the daemon's memory")
            with open(victim) as f:
                self.assertEqual(f.read(), "precious\n")
            self.assertEqual(os.path.getsize(empty_victim), 0)
            self.assertTrue(os.path.islink(status_json + ".tmp"))

    def test_account_ca_replaces_the_global_one(self):
        """An account with its own CA trusts that CA only: the fixture's server, signed by the
        CA of the global bundle, is refused for it and accepted for the others."""
        with MailFixture(dir=os.path.join(WORK, "daemon-ca"), users=1) as fx:
            url = f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX"
            other_ca = fx.pki.cert("selfsigned")
            accounts = [("global", url, {"idle": "0"}),
                        ("own_same", url, {"idle": "0", "ca": fx.ca}),
                        ("own_other", url, {"idle": "0", "ca": other_ca})]
            with Daemon(os.path.join(fx.dir, "daemon"), fx, accounts) as d:
                d.wait_for(lambda s: all(a["state"] in ("ok", "error") for a in s["accounts"]), 10, "three checks")
                st = by_name(d.status())
                self.assertEqual(st["global"]["state"], "ok", st["global"])
                self.assertEqual(st["own_same"]["state"], "ok", st["own_same"])
                self.assertEqual((st["own_other"]["state"], st["own_other"]["error"]), ("error", "tls"),
                                 st["own_other"])

    def test_oauth2_account_token_endpoint_unreachable(self):
        """An OAuth2 account (issue 16; the whole flow is in test_daemon_oauth.py) whose token
        endpoint does not answer: that account says so on the page and retries, the other one is
        checked, and neither the client secret nor the stored refresh token is in the log or the
        status."""
        with MailFixture(dir=os.path.join(WORK, "daemon-oauthcfg"), users=1) as fx:
            url = f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX"
            oauth = {"idle": "0", "auth": "oauth2", "oauth_provider": "custom",
                     "token_url": "https://127.0.0.1:9/token", "device_url": "https://127.0.0.1:9/device",
                     "client_id": "tinybiff", "client_secret": "cl1entS3cret", "scope": "openid"}
            accounts = [("plain", url, {"idle": "0"}), ("oauth", url, oauth)]
            secrets = {"oauth": "r3freshT0ken"}
            with Daemon(os.path.join(fx.dir, "daemon"), fx, accounts, secrets=secrets) as d:
                d.wait_for(lambda s: by_name(s)["plain"]["state"] == "ok", 10, "the password account's check")
                d.wait_for(lambda s: by_name(s)["oauth"]["state"] == "error", 10, "the OAuth2 account's try")
                st = by_name(d.status())
                self.assertEqual((st["oauth"]["error"], st["oauth"]["auth"]["state"]), ("network", "working"),
                                 st["oauth"])
                self.assertIn("authorization server unreachable; retrying", st["oauth"]["detail"])
                self.assertNotIn("auth", st["plain"])
                for secret in ("cl1entS3cret", "r3freshT0ken"):
                    self.assertNotIn(secret, json.dumps(d.status()))
                    self.assertNotIn(secret, d.read_log())

    def test_dns_rebinding_refused(self):
        """After a rebind the browser sends the attacker's name in Host and Origin: every path
        answers 421 without a body; only localhost, the bound address and list status_host names
        are served, and an acknowledge must come from one of them, not merely match Host."""
        import http.client
        import re
        with MailFixture(dir=os.path.join(WORK, "daemon-rebind"), users=1) as fx:
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, [("a", f"imaps://user1@localhost:{fx.ports['imaps']}/", {})],
                       extra_main="\tlist status_host 'biff.test'")

            def ask(method, path, host, body=None, headers=None):
                c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
                h = dict(headers or {}, Host=host)
                if body is not None:
                    h["Content-Type"] = "application/x-www-form-urlencoded"
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                out = r.status, r.read()
                c.close()
                return out

            with d:
                evil = f"evil.example:{d.port}"
                for method, path in (("GET", "/"), ("GET", "/status.json"), ("GET", "/nothing"), ("POST", "/ack")):
                    self.assertEqual(ask(method, path, evil, body=b"csrf=x" if method == "POST" else None),
                                     (421, b""), f"{method} {path} for Host {evil}")
                self.assertEqual(ask("GET", "/", "")[0], 421)
                for host in (f"127.0.0.1:{d.port}", f"localhost:{d.port}", f"BIFF.test:{d.port}"):
                    status, page = ask("GET", "/", host)
                    self.assertEqual(status, 200, host)
                token = re.search(rb'name="csrf" value="([0-9a-f]{32})"', page).group(1)
                # The reported bypass: Host and Origin agree, both the attacker's.
                status, _ = ask("POST", "/ack", evil, b"csrf=" + token, {"Origin": f"http://{evil}"})
                self.assertEqual(status, 421)
                status, _ = ask("POST", "/ack", f"127.0.0.1:{d.port}", b"csrf=" + token, {"Origin": f"http://{evil}"})
                self.assertEqual(status, 403)
                status, _ = ask("POST", "/ack", f"biff.test:{d.port}", b"csrf=" + token,
                                {"Origin": f"http://biff.test:{d.port}"})
                self.assertEqual(status, 303)
                # the main loop acts on the request after the 303: give it a moment
                acked = read_until(lambda: d.read_log().count("new mail acknowledged"), lambda n: n == 1, 5)
                self.assertEqual(acked, 1)

    def test_broken_config_refused_with_file_and_line(self):
        import subprocess
        path = os.path.join(WORK, "broken.conf")
        os.makedirs(WORK, exist_ok=True)
        with open(path, "w") as f:
            f.write("config tinybiff 'main'\n\toption interval 'soon'\n")
        r = subprocess.run([BIN, "run", "-c", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{path}:2:", r.stderr)
        self.assertIn("not starting", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
