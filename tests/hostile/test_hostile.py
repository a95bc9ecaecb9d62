#!/usr/bin/env python3
"""Hostile servers: tinybiff against servers that lie, stall, flood and break the protocol.

Every scenario runs ONE `tinybiff check --state F` call with three accounts: a good IMAPS account
on a real server (Dovecot for half the scenarios, Cyrus IMAP for the other half), the hostile account (a scripted server on a real loopback socket, plain with
--security none, STARTTLS, or implicit TLS with the fixture's test CA), and a good POP3S account.
Three phases, each its own call on the same state file:

  baseline  the hostile server behaves (STATUS/UIDL as a correct server): every account sets
            its baseline (--ack)
  hostile   one message is delivered to the good user, the server plays the scenario (--ack):
            the call ends within its timeout (measured), the hostile account fails with the
            right error class and a sensible detail (or succeeds with the right numbers where
            the input was legal), nothing secret is echoed, no sanitizer report, and the good
            accounts work (counts equal doveadm's, new == 1)
  after     the hostile server behaves again and has 2 more messages: the hostile account's
            sync state is unchanged (no fresh start, new == 2 exactly), the good accounts'
            acknowledgement from the hostile phase holds (new == 0)

Plus the daemon: accounts on hostile IDLE servers that confirm IDLE and then ignore DONE (at
the renewal, and after pushing EXISTS) must fall into error/backoff while the good accounts keep
updating. That part runs in a thread alongside the check scenarios.

Prints `hostile: N scenarios, N passed, N failed`; exit status 1 if any failed.
    BIFF_BIN=build/host-asan/bin python3 tests/hostile/test_hostile.py [-k NAME] [-j JOBS]
"""
import argparse
import base64
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
from mailfix import MailFixture, _pdeathsig_preexec  # noqa: E402
from cyrusfix import CyrusFixture  # noqa: E402
from hostile import HostileServer  # noqa: E402
import responders as R  # noqa: E402

BIN_DIR = os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin"))
BIN = os.path.join(BIN_DIR, "tinybiff")
WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
T = 4            # --timeout of every call
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer")
FRESH = re.compile(r"no record yet|fresh|damaged|unknown layout")
MB = 1024 * 1024
AFTER_STATUS = R.imap_status(messages=5, unseen=3, uidnext=6, uidvalidity=7)
AFTER_UIDS = (b"a", b"b", b"c", b"d", b"e")


class Scenario:
    def __init__(self, name, proto, play, expect, detail=None, sec="none", raw=False, stalls=False,
                 result=None, never_sent=()):
        """expect: tuple of error classes, or "ok" (then result: fields the hostile line must have).
        sec: none (plain, --security none), starttls, tls (implicit). raw: no TLS wrapping by the
        server in the hostile phase (it plays the handshake itself). stalls: the server goes quiet,
        so the call must end by the timeout (and not much later); otherwise well before it.
        never_sent: byte strings the client must not have sent in the hostile phase."""
        self.name, self.proto, self.play, self.expect, self.detail = name, proto, play, expect, detail
        self.sec, self.raw, self.stalls, self.result, self.never_sent = sec, raw, stalls, result, never_sent


# ------------------------------------------------------------------ IMAP plays

def imap_at(cmd, hook, greeting=R.IMAP_GREETING):
    """A correct IMAP server until the client sends cmd; then hook(peer, tag, line) plays."""
    return lambda peer: R.imap_session(peer, greeting=greeting, on={cmd: hook})


def status_reply(body_after_tag=b" OK done\r\n", then=None):
    """hook for STATUS: send raw bytes (tag substituted for %TAG%), then `then` (close/silence/...)"""
    def hook(peer, tag, line, _b=body_after_tag):
        peer.send(_b.replace(b"%TAG%", tag))
        if then:
            then(peer)
        return then is None
    return hook


def close(peer):
    peer.close()


def silence(peer):
    peer.wait_closed(60)


def reset(peer):
    peer.reset()


def sts(mailbox=b"INBOX", body=R.STATUS_LINE):
    return b"* STATUS " + mailbox + b" " + body + b"\r\n"


def greeting_only(data, then):
    def play(peer):
        peer.send(data)
        then(peer)
    return play


def slowloris(greeting):
    def play(peer):
        peer.send_slowly(greeting, 1.0)
        silence(peer)
    return play


def tls_raw(then):
    def play(peer):
        peer.sock.settimeout(10)
        peer.sock.recv(4096)  # (part of) the ClientHello
        then(peer)
    return play


def send_alert(peer):
    # TLS 1.2 record: alert, fatal, handshake_failure (40)
    peer.send(b"\x15\x03\x03\x00\x02\x02\x28")
    peer.wait_closed(10)


def flood_then_status(n):
    def hook(peer, tag, line):
        chunk = b"".join(b"* OK still busy %d\r\n" % i for i in range(1000))
        for _ in range(n // 1000):
            peer.send(chunk)
        peer.send(sts(line.split(b" ")[2]) + tag + b" OK done\r\n")
        return True
    return hook


def echo_secret_imap(peer, tag, line):
    raw = base64.b64decode(line.split(b" ")[3])
    pw = raw.split(b"\0")[2]
    peer.send(tag + b" NO [AUTHENTICATIONFAILED] password " + pw + b" is wrong (" + line.split(b" ")[3] + b")\r\n")
    return True


def echo_b64_quoted_imap(peer, tag, line):
    """The SASL message's base64 inside quotes, after key=: no word of its own."""
    peer.send(tag + b' NO [AUTHENTICATIONFAILED] rejected "response=' + line.split(b" ")[3] + b'"\r\n')
    return True


def imap_no_starttls_in_capability(peer):
    peer.send(b"* OK hostile server without capabilities in the greeting\r\n")
    R.imap_serve(peer, caps=b"IMAP4rev1 AUTH=PLAIN LOGIN")


def imap_starttls_refused(peer):
    peer.send(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n")
    R.imap_serve(peer, caps=b"IMAP4rev1 STARTTLS LOGINDISABLED",
                 on={b"STARTTLS": lambda p, tag, line: p.send(tag + b" NO TLS is broken today\r\n") or True})


IMAP_SCENARIOS = [
    Scenario("imap_1mb_line_no_crlf_then_close", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS INBOX (MESSAGES 3 " + b"x" * MB, close)),
             ("protocol", "network"), "closed|too long"),
    Scenario("imap_1mb_line_no_crlf_then_silence", "imap",
             imap_at(b"STATUS", status_reply(b"* " + b"y" * MB, silence)),
             ("network",), "no answer", sec="tls", stalls=True),
    Scenario("imap_1mb_status_line_then_ok", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS INBOX (MESSAGES 3 UNSEEN 1 " + b"7" * MB + b")\r\n%TAG% OK done\r\n")),
             ("protocol",), "too long"),
    Scenario("imap_1mb_greeting_then_close", "imap", greeting_only(b"* OK " + b"z" * MB, close),
             ("protocol", "network"), "closed|too long"),
    Scenario("imap_literal_0", "imap",
             imap_at(b"STATUS", status_reply(b"* 1 FETCH (BODY[] {0}\r\n)\r\n" + sts() + b"%TAG% OK done\r\n")),
             "ok", result={"messages": 3, "unseen": 1, "uidnext": 4}),
    Scenario("imap_literal_mailbox_name", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS {5}\r\nINBOX " + R.STATUS_LINE + b"\r\n%TAG% OK done\r\n")),
             "ok", result={"messages": 3, "unseen": 1, "uidnext": 4}),
    Scenario("imap_literal_4294967295_then_close", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS {4294967295}\r\nINBOX " + R.STATUS_LINE
                                             + b"\r\n%TAG% OK done\r\n" + b"q" * 65536, close)),
             ("protocol", "network"), "closed|literal"),
    Scenario("imap_literal_4294967296", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS {4294967296}\r\nINBOX " + R.STATUS_LINE
                                             + b"\r\n%TAG% OK done\r\n", silence)),
             ("protocol",), "literal"),
    Scenario("imap_literal_minus_1", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS {-1}\r\nINBOX " + R.STATUS_LINE + b"\r\n%TAG% OK done\r\n")),
             ("protocol",)),
    Scenario("imap_literal_missing_brace", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS {5\r\nINBOX " + R.STATUS_LINE + b"\r\n%TAG% OK done\r\n")),
             ("protocol",)),
    Scenario("imap_literal_longer_than_announced", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS {3}\r\nINBOX " + R.STATUS_LINE + b"\r\n%TAG% OK done\r\n")),
             ("protocol",)),
    Scenario("imap_unterminated_quoted_string", "imap",
             imap_at(b"STATUS", status_reply(b'* STATUS "INBOX ' + R.STATUS_LINE + b"\r\n%TAG% OK done\r\n")),
             ("protocol",)),
    Scenario("imap_untagged_flood_100k", "imap", imap_at(b"STATUS", flood_then_status(100000)),
             "ok", result={"messages": 3, "unseen": 1, "uidnext": 4}),
    Scenario("imap_wrong_tag", "imap",
             imap_at(b"STATUS", status_reply(sts() + b"ZZ99 OK done\r\n", silence)),
             ("protocol",), "unexpected|tag"),
    # A tagged OK for a command the client never sent (a check without IDLE sends no EXAMINE):
    # taking it would mark a mailbox selected that never was; it must end the session.
    Scenario("imap_tagged_reply_to_unsent_command", "imap",
             imap_at(b"STATUS", status_reply(b"bX OK [READ-ONLY] examined\r\n" + sts() + b"%TAG% OK done\r\n")),
             ("protocol",), "unexpected reply"),
    Scenario("imap_bye_at_greeting", "imap", greeting_only(b"* BYE too many connections from your IP\r\n", close),
             ("server_error",), "too many connections"),
    Scenario("imap_bye_after_auth", "imap",
             imap_at(b"AUTHENTICATE", lambda p, tag, line: p.send(tag + b" OK logged in\r\n* BYE shutting down for "
                                                                   b"maintenance\r\n") or p.close()),
             ("server_error",), "maintenance", sec="tls"),
    Scenario("imap_bye_mid_status", "imap",
             imap_at(b"STATUS", status_reply(b"* BYE autologout; idle for too long\r\n", close)),
             ("server_error",), "autologout"),
    Scenario("imap_greeting_never_sent", "imap", silence, ("network",), "no answer", sec="tls", stalls=True),
    Scenario("imap_greeting_never_sent_plain", "imap", silence, ("network",), "no answer", stalls=True),
    Scenario("imap_slowloris_one_byte_per_second", "imap", slowloris(R.IMAP_GREETING), ("network",), "no answer",
             stalls=True),
    Scenario("imap_reset_mid_response", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS INBOX (MESSAGES 3 UN", reset)),
             ("network",), sec="tls"),
    Scenario("imap_reset_mid_handshake", "imap", tls_raw(reset), ("network", "tls"), sec="tls", raw=True),
    Scenario("imap_tls_alert", "imap", tls_raw(send_alert), ("tls",), "alert|handshake", sec="tls", raw=True),
    Scenario("imap_capability_without_starttls", "imap", imap_no_starttls_in_capability, ("tls",), "STARTTLS",
             sec="starttls", never_sent=(b"LOGIN", b"AUTHENTICATE")),
    Scenario("imap_starttls_refused", "imap", imap_starttls_refused, ("tls",), "STARTTLS|TLS",
             sec="starttls", never_sent=(b"LOGIN", b"AUTHENTICATE")),
    Scenario("imap_status_numbers_beyond_32_bits", "imap",
             imap_at(b"STATUS", status_reply(sts(body=b"(MESSAGES 4294967296 UNSEEN 1 UIDNEXT 99999999999 "
                                                     b"UIDVALIDITY 7)") + b"%TAG% OK done\r\n")),
             ("protocol",)),
    # 2^64+4: a bound checked after x*10+d read it as 4 and kept it
    Scenario("imap_highestmodseq_wraps_64_bits", "imap",
             imap_at(b"STATUS", status_reply(sts(body=b"(MESSAGES 3 UNSEEN 1 UIDNEXT 4 UIDVALIDITY 7 "
                                                     b"HIGHESTMODSEQ 18446744073709551620)") + b"%TAG% OK done\r\n")),
             ("protocol",), "number"),
    Scenario("imap_nul_and_non_utf8_in_auth_reply", "imap",
             imap_at(b"AUTHENTICATE", lambda p, tag, line: p.send(tag + b" NO [AUTHENTICATIONFAILED] \x00\xff\xfe"
                                                                   b"\xc3\x28 bad\r\n") or True),
             ("auth_failed",)),
    Scenario("imap_nul_in_status_line", "imap",
             imap_at(b"STATUS", status_reply(b"* STATUS INBOX\x00 " + R.STATUS_LINE + b"\r\n%TAG% OK done\r\n")),
             ("protocol",)),
    Scenario("imap_non_utf8_greeting_is_harmless", "imap",
             lambda peer: R.imap_session(peer, greeting=b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] \xff\xfe"
                                                         b"\xc0\xaf gr\xfc\xdf dich\r\n"),
             "ok", result={"messages": 3, "unseen": 1, "uidnext": 4}),
    Scenario("imap_server_echoes_the_password", "imap", imap_at(b"AUTHENTICATE", echo_secret_imap),
             ("auth_failed",), "withheld"),
    Scenario("imap_server_echoes_base64_in_quotes", "imap", imap_at(b"AUTHENTICATE", echo_b64_quoted_imap),
             ("auth_failed",), "withheld"),
]


# ------------------------------------------------------------------ POP3 plays

def pop3_at(cmd, hook, greeting=R.POP3_GREETING, **kw):
    return lambda peer: R.pop3_session(peer, greeting=greeting, on={cmd: hook}, **kw)


def pop3_reply(data, then=None):
    def hook(peer, tag, line):
        peer.send(data)
        if then:
            then(peer)
        return then is None
    return hook


def pop3_password(peer, line):
    """The password a POP3 client sent in PASS or AUTH PLAIN (reading the continuation if any)."""
    if not line.upper().startswith(b"AUTH"):
        return line.split(b" ", 1)[1]
    parts = line.split(b" ")
    if len(parts) < 3:
        peer.send(b"+ \r\n")
        parts.append(peer.recv_line())
    return base64.b64decode(parts[2]).split(b"\0")[2]


def echo_secret_pop3(peer, tag, line):
    peer.send(b"-ERR [AUTH] password " + pop3_password(peer, line) + b" rejected\r\n")
    return True


def echo_b64_pop3(peer, tag, line):
    """base64url of the password alone, after key=."""
    peer.send(b"-ERR [AUTH] key=" + base64.urlsafe_b64encode(pop3_password(peer, line)) + b";\r\n")
    return True


def pop3_stls_refused(peer):
    peer.send(R.POP3_GREETING)
    R.pop3_serve(peer, capa=b"STLS\r\nUSER\r\nUIDL\r\n", on={b"STLS": pop3_reply(b"-ERR TLS is broken today\r\n")})


def pop3_capa_flood(peer, tag, line):
    peer.send(b"+OK\r\n")
    chunk = b"".join(b"X-FLOOD-%d\r\n" % i for i in range(1000))
    for _ in range(100):
        peer.send(chunk)
    peer.send(b"USER\r\nUIDL\r\n.\r\n")
    return True


UIDL_ABC = R.uidl_body((b"a", b"b", b"c"))

POP3_SCENARIOS = [
    # POP3 lines are bounded (RFC 2449: 512 octets; the engine allows 1024): fail at once, no timeout.
    Scenario("pop3_1mb_greeting_no_crlf_then_close", "pop3", greeting_only(b"+OK " + b"z" * MB, close),
             ("protocol",), "longer than"),
    Scenario("pop3_1mb_line_no_crlf_then_silence", "pop3", pop3_at(b"UIDL", pop3_reply(b"+OK " + b"u" * MB, silence)),
             ("protocol",), "longer than", sec="tls"),
    Scenario("pop3_multiline_without_final_dot_then_close", "pop3",
             pop3_at(b"UIDL", pop3_reply(b"+OK\r\n" + UIDL_ABC, close)), ("protocol", "network"), "closed"),
    Scenario("pop3_multiline_without_final_dot_then_silence", "pop3",
             pop3_at(b"UIDL", pop3_reply(b"+OK\r\n" + UIDL_ABC, silence)), ("network",), "no answer",
             sec="tls", stalls=True),
    Scenario("pop3_uidl_duplicate_ids", "pop3",
             pop3_at(b"UIDL", pop3_reply(b"+OK\r\n1 a\r\n2 b\r\n3 b\r\n4 c\r\n.\r\n")), ("protocol",), "UIDL|unique|dupl"),
    Scenario("pop3_uidl_1kb_id", "pop3",
             pop3_at(b"UIDL", pop3_reply(b"+OK\r\n1 a\r\n2 b\r\n3 c\r\n4 " + b"L" * 1024 + b"\r\n.\r\n")),
             ("protocol",), "UIDL|long"),
    Scenario("pop3_stat_beyond_32_bits", "pop3", pop3_at(b"STAT", pop3_reply(b"+OK 4294967296 99999999999\r\n")),
             ("protocol",)),
    Scenario("pop3_err_greeting", "pop3", greeting_only(b"-ERR too many connections\r\n", close),
             ("server_error",), "too many connections"),
    Scenario("pop3_greeting_never_sent", "pop3", silence, ("network",), "no answer", stalls=True),
    Scenario("pop3_slowloris_one_byte_per_second", "pop3", slowloris(R.POP3_GREETING), ("network",), "no answer",
             sec="tls", stalls=True),
    Scenario("pop3_reset_mid_uidl", "pop3", pop3_at(b"UIDL", pop3_reply(b"+OK\r\n1 a\r\n2 ", reset)),
             ("network",), sec="tls"),
    Scenario("pop3_tls_alert", "pop3", tls_raw(send_alert), ("tls",), "alert|handshake", sec="tls", raw=True),
    Scenario("pop3_stls_refused", "pop3", pop3_stls_refused, ("tls",), "STLS|TLS", sec="starttls",
             never_sent=(b"PASS", b"AUTH")),
    Scenario("pop3_nul_and_non_utf8_in_uidl", "pop3",
             pop3_at(b"UIDL", pop3_reply(b"+OK\r\n1 a\r\n2 b\x00\xff\r\n3 c\r\n.\r\n")), ("protocol",)),
    Scenario("pop3_nul_and_non_utf8_greeting_is_harmless", "pop3",
             lambda peer: R.pop3_session(peer, greeting=b"+OK \x00\xff\xfe hello\r\n"), "ok",
             result={"messages": 3, "new": 0}),
    # masked in place, the password's length would still show
    Scenario("pop3_server_echoes_the_password", "pop3",
             lambda peer: R.pop3_session(peer, on={b"PASS": echo_secret_pop3, b"AUTH": echo_secret_pop3}),
             ("auth_failed",), "withheld"),
    Scenario("pop3_server_echoes_base64url_after_key", "pop3",
             lambda peer: R.pop3_session(peer, on={b"PASS": echo_b64_pop3, b"AUTH": echo_b64_pop3}),
             ("auth_failed",), "withheld"),
    Scenario("pop3_capa_flood_100k", "pop3", pop3_at(b"CAPA", pop3_capa_flood), "ok",
             result={"messages": 3, "new": 0}),
]

SCENARIOS = IMAP_SCENARIOS + POP3_SCENARIOS


# ------------------------------------------------------------------ running one scenario

class Failed(AssertionError):
    pass


def need(cond, msg):
    if not cond:
        raise Failed(msg)


class Env:
    def __init__(self, fx):
        self.fx = fx
        self.cert, self.key = fx.pki.cert("good"), fx.pki.key("good")
        self.secret_b64s = {}


def secret_forms(password, users=("victim",)):
    """The password and what a server could echo of it: base64 of it and of SASL PLAIN blobs."""
    pw = password.encode()
    forms = [password, base64.b64encode(pw).decode(), base64.urlsafe_b64encode(pw).decode()]
    forms += [base64.b64encode(b"\0" + u.encode() + b"\0" + pw).decode() for u in users]
    return forms


def run_check(urls, state, password, extra=(), ack=False, security_none=False, ca=None):
    args = [BIN, "check", "--timeout", str(T), "--ca", ca, "--state", state]
    if ack:
        args.append("--ack")
    if security_none:
        args += ["--security", "none"]
    env = dict(os.environ, TINYBIFF_PASSWORD=password)
    t0 = time.monotonic()
    r = subprocess.run(args + list(extra) + urls, capture_output=True, env=env, timeout=T * len(urls) + 60)
    elapsed = time.monotonic() - t0
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    need(not SANITIZER.search(err), f"sanitizer report:\n{err[-3000:]}")
    need(r.returncode in (0, 1), f"exit status {r.returncode} (0/1 expected)\n{err[-2000:]}")
    for form in secret_forms(password):
        need(form not in out + err, f"the password was echoed in the output (as {form!r})")
    lines = {}
    for raw in out.splitlines():
        try:
            j = json.loads(raw)
        except ValueError:
            raise Failed(f"not JSON: {raw!r}")
        lines[j["account"]] = j
    return r.returncode, lines, err, elapsed


def run_scenario(env, s, user, fx):
    pw = fx.users[user]
    good = [f"imaps://{user}@localhost:{fx.ports['imaps']}/INBOX", f"pop3s://{user}@localhost:{fx.ports['pop3s']}"]
    state = os.path.join(fx.dir, "hostile-state", s.name + ".img")
    os.makedirs(os.path.dirname(state), exist_ok=True)
    if os.path.exists(state):
        os.unlink(state)
    imap = s.proto == "imap"

    def normal(after):
        if imap:
            st = AFTER_STATUS if after else R.STATUS_LINE
            if s.sec == "starttls":
                return lambda p: R.imap_starttls_session(p, status=st)
            return lambda p: R.imap_session(p, status=st)
        uids = AFTER_UIDS if after else (b"a", b"b", b"c")
        if s.sec == "starttls":
            return lambda p: R.pop3_starttls_session(p, uids=uids)
        return lambda p: R.pop3_session(p, uids=uids)
    scheme = {("imap", "tls"): "imaps", ("pop3", "tls"): "pop3s"}.get((s.proto, s.sec), s.proto)
    with HostileServer(normal(False), tls_cert=env.cert, tls_key=env.key, implicit_tls=s.sec == "tls") as srv:
        hostile = f"{scheme}://victim@localhost:{srv.port}" + ("/INBOX" if imap else "")
        urls = [good[0], hostile, good[1]]
        kw = dict(password=pw, security_none=s.sec == "none", ca=fx.ca)

        # baseline
        rc, lines, err, _ = run_check(urls, state, ack=True, **kw)
        need(rc == 0 and all(lines[u]["ok"] for u in urls), f"baseline failed: {lines} {err}")

        # hostile phase
        fx.deliver(user, subject=f"hostile {s.name}")
        want = fx.counts(user)
        srv.scenario = s.play
        srv.implicit_tls = s.sec == "tls" and not s.raw
        mark = len(srv.received)
        rc, lines, err, elapsed = run_check(urls, state, ack=True, **kw)
        h = lines.get(hostile)
        need(h is not None, f"no line for the hostile account: {lines}")
        if s.expect == "ok":
            need(h["ok"], f"expected success, got {h}")
            for k, v in (s.result or {}).items():
                need(h.get(k) == v, f"{k}: expected {v}, got {h}")
            need(rc == 0, f"exit status {rc}")
        else:
            need(not h["ok"], f"expected failure {s.expect}, got success {h}")
            need(h["error"] in s.expect, f"error class {h['error']!r} not in {s.expect}: {h}")
            need(rc == 1, f"exit status {rc}")
            d = h.get("detail", "")
            need(d and all(0x20 <= ord(ch) < 0x7f for ch in d), f"detail empty or not printable: {d!r}")
            if s.detail:
                need(re.search(s.detail, d, re.I), f"detail {d!r} does not match /{s.detail}/")
        for u in good:
            g = lines.get(u)
            need(g and g["ok"], f"good account {u} failed: {g}")
            need(g["messages"] == want["messages"], f"good account {u}: {g['messages']} messages, the "
                                                    f"server says {want['messages']}")
            need(g["new"] == 1, f"good account {u}: new {g['new']} (1 delivered)")
        # The timeout bounds the whole hostile account; the good ones take a fraction of a second.
        if s.stalls:
            need(T - 0.5 <= elapsed <= T + 3, f"took {elapsed:.1f} s, timeout {T} s")
        else:
            need(elapsed < T, f"took {elapsed:.1f} s: waited for the timeout ({T} s) instead of failing fast")
        sent = srv.received[mark:]
        for b in s.never_sent:
            need(b not in sent.upper(), f"client sent {b!r}: {sent[:300]!r}")
        need(not srv.errors, f"scenario bug: {srv.errors}")
        hostile_result = (h.get("error") or "ok", h.get("detail", ""))

        # after: the hostile account's state is as the baseline left it
        srv.scenario = normal(True)
        srv.implicit_tls = s.sec == "tls"
        rc, lines, err, _ = run_check(urls, state, **kw)
        need(rc == 0, f"after-check failed: {lines} {err}")
        need(not FRESH.search(err), f"state started fresh after the hostile phase: {err}")
        need(lines[hostile]["new"] == 2, f"hostile account after: new {lines[hostile]['new']}, expected 2 "
                                         f"(state changed by the hostile phase): {lines[hostile]}")
        for u in good:
            need(lines[u]["new"] == 0, f"good account {u} after its acknowledgement: new {lines[u]['new']}")
    return elapsed, hostile_result


# ------------------------------------------------------------------ the daemon and IDLE

def idle_hostile(push_exists):
    """IMAP server with IDLE: logs in, STATUS, EXAMINE, confirms IDLE; then ignores DONE
    (after pushing EXISTS when push_exists, else at the daemon's renewal)."""
    caps = b"IMAP4rev1 AUTH=PLAIN SASL-IR IDLE"

    def examine(peer, tag, line):
        peer.send(b"* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 4] n\r\n"
                  + tag + b" OK [READ-ONLY] done\r\n")
        return True

    def idle(peer, tag, line):
        peer.send(b"+ idling\r\n")
        if push_exists:
            time.sleep(1.0)
            peer.send(b"* 4 EXISTS\r\n")
        peer.recv_until(b"DONE", timeout=3600)
        peer.wait_closed(3600)  # DONE ignored: never the tagged OK
        return False

    def play(peer):
        peer.send(b"* OK [CAPABILITY " + caps + b"] idle test server\r\n")
        R.imap_serve(peer, caps=caps, on={b"EXAMINE": examine, b"IDLE": idle})
    return play


def idle_race():
    """A correct IMAP server where mail arrives between the daemon's STATUS and its EXAMINE: the
    EXAMINE reply shows 4 EXISTS and UIDNEXT 5 where STATUS said 3 and 4. The daemon must
    notice (and recheck) instead of idling on a stale count until the next change."""
    caps = b"IMAP4rev1 AUTH=PLAIN SASL-IR IDLE"
    box = {"n": 3}

    def status(peer, tag, line):
        n = box["n"]
        peer.send(sts(body=R.imap_status(messages=n, unseen=n - 2, uidnext=n + 1)) + tag + b" OK done\r\n")
        return True

    def examine(peer, tag, line):
        box["n"] = 4  # delivered just now
        peer.send(b"* 4 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 5] n\r\n"
                  + tag + b" OK [READ-ONLY] done\r\n")
        return True

    def idle(peer, tag, line):
        peer.send(b"+ idling\r\n")
        peer.recv_until(b"DONE", timeout=3600)
        peer.send(tag + b" OK idle done\r\n")
        return True

    def play(peer):
        peer.send(b"* OK [CAPABILITY " + caps + b"] race test server\r\n")
        R.imap_serve(peer, caps=caps, on={b"STATUS": status, b"EXAMINE": examine, b"IDLE": idle})
    return play


def daemon_idle_scenarios(env, results, u1, u2):
    """Two scenarios in one daemon run (users u1, u2 of the fixture for the good accounts);
    appends (name, ok, msg, secs) to results."""
    from daemonfix import Daemon

    class HDaemon(Daemon):
        def start(self, env=None):
            """As Daemon.start, but the daemon dies with the thread that started it (a killed
            test leaves nothing running); this thread stops it itself before it ends."""
            import subprocess as sp
            import signal as sg
            self.logf = open(self.log, "a")
            self.proc = sp.Popen([BIN, "run", "-c", self.config], stdout=self.logf, stderr=sp.STDOUT,
                                 preexec_fn=_pdeathsig_preexec(os.getpid(), sg.SIGKILL))
            end = time.monotonic() + 10
            while time.monotonic() < end:
                try:
                    self.status()
                    return self
                except OSError:
                    if self.proc.poll() is not None:
                        raise RuntimeError("daemon exited: " + self.read_log())
                    time.sleep(0.05)
            raise RuntimeError("status page never came up")
    fx = env.fx
    t0 = time.monotonic()
    renew = 60  # the smallest idle_renew the config accepts
    srv_renew = HostileServer(idle_hostile(False))
    srv_push = HostileServer(idle_hostile(True))
    srv_race = HostileServer(idle_race())
    names = ["daemon_idle_done_ignored_at_renewal", "daemon_idle_done_ignored_after_exists",
             "daemon_idle_mail_between_status_and_examine"]
    d = None
    try:
        with srv_renew, srv_push, srv_race:
            accounts = [
                ("good_idle", f"imaps://{u1}@localhost:{fx.ports['imaps']}/INBOX", {"idle": "1"}),
                ("good_poll", f"imaps://{u2}@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0", "interval": "2"}),
                ("good_pop", f"pop3s://{u2}@localhost:{fx.ports['pop3s']}", {"interval": "2"}),
                ("hostile_renew", f"imap://victim@localhost:{srv_renew.port}/INBOX", {"idle": "1", "security": "none"}),
                ("hostile_push", f"imap://victim@localhost:{srv_push.port}/INBOX", {"idle": "1", "security": "none"}),
                ("race", f"imap://victim@localhost:{srv_race.port}/INBOX", {"idle": "1", "security": "none"}),
            ]
            secrets = {"good_idle": fx.users[u1], "good_poll": fx.users[u2], "good_pop": fx.users[u2],
                       "hostile_renew": "hostile-secret-1", "hostile_push": "hostile-secret-2",
                       "race": "hostile-secret-3"}
            d = HDaemon(os.path.join(fx.dir, "hostile-daemon"), fx, accounts, secrets=secrets,
                       extra_main=f"\toption idle_renew '{renew}'")
            d.start()

            def acct(st, name):
                return next(a for a in st["accounts"] if a["name"] == name)
            d.wait_for(lambda st: all(acct(st, n)["last_check"] for n in ("good_idle", "good_poll", "good_pop",
                                                                          "hostile_renew", "hostile_push")),
                       15, "first checks")
            d.wait_for(lambda st: d.read_log().count("idling on INBOX") >= 4, 10, "four IDLE sessions")
            t_idle = time.monotonic()
            race_new = None
            fails = {}
            deliveries = 0
            polls = set()
            # Watch until both hostile accounts are in error, or too long. Meanwhile the good
            # accounts must keep working: mail delivered to the IDLE account shows up fast.
            deadline = t_idle + renew + 30 + 20
            while time.monotonic() < deadline and len(fails) < 2:
                st = d.status()
                polls.add(acct(st, "good_poll")["last_check"])
                if race_new is None and acct(st, "race")["new"] == 1:
                    race_new = time.monotonic() - t_idle
                for n in ("hostile_renew", "hostile_push"):
                    a = acct(st, n)
                    if n not in fails and a["state"] == "error":
                        fails[n] = (time.monotonic() - t_idle, a)
                if int(time.monotonic() - t_idle) // 10 >= deliveries:
                    fx.deliver(u1, subject=f"idle {deliveries}")
                    deliveries += 1
                    d.wait_for(lambda st2, k=deliveries: acct(st2, "good_idle")["new"] == k, 5,
                               f"IDLE delivery {deliveries} while hostile servers stall")
                time.sleep(0.2)
            st = d.status()
            log = d.read_log()
            need("hostile-secret" not in log and fx.users[u1] not in log, "a secret is in the daemon log")
            need(len(polls) >= 5, f"the polling account stopped updating: {len(polls)} distinct last_check")
            # A polled account may be in the middle of a check ("checking") at any one moment:
            # each good account must be ok again within a check's time, not at one snapshot.
            d.wait_for(lambda s: acct(s, "good_idle")["state"] == "ok" and acct(s, "good_pop")["state"] == "ok",
                       10, "the good accounts to be ok")
            rc = d.stop()
            need(rc == 0, f"daemon exit status {rc} (sanitizer?)")
            need(not SANITIZER.search(d.read_log()), "sanitizer report in the daemon log")
            a = acct(st, "race")
            results.append((names[2], race_new is not None and race_new < 5,
                            f"new 1 after {race_new:.1f} s" if race_new is not None else
                            f"new {a['new']} (want 1) {time.monotonic() - t_idle:.0f} s after IDLE began: the mail "
                            f"that arrived between STATUS and EXAMINE was not noticed", time.monotonic() - t0))
            for n, name, limit in (("hostile_renew", names[0], renew + 30 + 10), ("hostile_push", names[1], 30 + 10)):
                if n not in fails:
                    a = acct(st, n)
                    results.append((name, False, f"still {a['state']!r} {time.monotonic() - t_idle:.0f} s after "
                                    f"IDLE began (want error within {limit} s): {a}", time.monotonic() - t0))
                    continue
                took, a = fails[n]
                ok = took <= limit and a.get("error") in ("network", "protocol") and a["next_check"] > a["last_check"]
                results.append((name, ok, f"error {a.get('error')} ({a.get('detail')}) {took:.0f} s after IDLE began; "
                                f"next check in {a['next_check'] - a['last_check']} s", time.monotonic() - t0))
    except Exception as e:  # noqa: BLE001 - reported as a failed scenario
        msg = f"{type(e).__name__}: {e}"
        for name in names:
            if not any(r[0] == name for r in results):
                results.append((name, False, msg, time.monotonic() - t0))
    finally:
        if d is not None:
            d.stop()


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", help="only scenarios whose name contains this")
    ap.add_argument("-j", type=int, default=6, help="scenarios at once")
    ap.add_argument("--no-daemon", action="store_true", help="skip the daemon IDLE scenarios")
    a = ap.parse_args()
    chosen = [s for s in SCENARIOS if not a.k or a.k in s.name]
    run_daemon = not a.no_daemon and (not a.k or a.k in "daemon_idle_done_ignored")
    t0 = time.monotonic()
    results = []
    users = len(chosen)
    with MailFixture(dir=os.path.join(WORK, "hostile"), users=users + 2, messages=2, unseen=1) as fx, \
            CyrusFixture(os.path.join(WORK, "hostile-cyrus"), users=users // 2 + 1, messages=2, unseen=1,
                         folders=["INBOX"], pki_root=fx.dir) as cyrus:
        # user1..N for scenarios, the last two for the daemon; odd scenarios' good accounts on Cyrus
        names = sorted(fx.users, key=lambda u: int(u[4:]))
        env = Env(fx)

        def good_server(i):
            return (cyrus, f"user{i // 2 + 1}") if i % 2 else (fx, names[i])
        daemon_results = []
        dt = None
        if run_daemon:
            dt = threading.Thread(target=daemon_idle_scenarios, args=(env, daemon_results, names[-2], names[-1]),
                                  daemon=True)
            dt.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as pool:
            futs = {pool.submit(run_scenario, env, s, *good_server(i)[::-1]): s for i, s in enumerate(chosen)}
            for fut in concurrent.futures.as_completed(futs):
                s = futs[fut]
                try:
                    elapsed, (cls, detail) = fut.result()
                    results.append((s.name, True, f"{cls}: {detail}"[:110], elapsed))
                except Failed as e:
                    results.append((s.name, False, str(e)[:2000], 0))
                except Exception:  # noqa: BLE001
                    results.append((s.name, False, traceback.format_exc()[-2000:], 0))
        if dt:
            dt.join(300)
            results += daemon_results
    results.sort()
    for name, ok, msg, secs in results:
        print(f"{'PASS' if ok else 'FAIL'} {name:<52} {secs:5.1f}s  {msg}")
    npass = sum(1 for r in results if r[1])
    print(f"hostile: {len(results)} scenarios, {npass} passed, {len(results) - npass} failed "
          f"({time.monotonic() - t0:.0f} s, {os.path.basename(os.path.dirname(os.path.abspath(BIN_DIR)))})")
    return 0 if results and npass == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
