#!/usr/bin/env python3
"""Record real IMAP dialogues between the tinybiff IMAP engine and throwaway Dovecot and Cyrus.

Builds the engine (+ biff_sasl + mbedTLS base64) as a shared library, drives it over real
sockets (plain, STARTTLS, implicit TLS) against tests/fixture/mailfix.py's Dovecot and writes
transcripts to tests/data/*.txt for test_imap_replay (which replays them at every split point).
The cyrus_* transcripts come from tests/fixture/cyrusfix.py's Cyrus IMAP 3.6; data/lost/ holds
dialogues recorded with an older engine that show a server failure (replayed differently).

Some scenarios edit the server's capability line in flight (noted in the transcript header):
that is how a real Dovecot is made to answer a sync literal or a non-SASL-IR AUTHENTICATE.

    python3 components/imap/tests/record_dialogues.py [NAME...]   (from the repo root)
"""
import ctypes
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))
import mailfix  # noqa: E402
import cyrusfix  # noqa: E402

AUTH = {"auto": 0, "plain": 1, "login": 2, "xoauth2": 3, "oauthbearer": 4}
SEC = {"tls": 0, "starttls": 1, "none": 2}
EV = {0: None, 1: "starttls", 2: "checked", 3: "changed", 4: "idling", 5: "closed", 6: "failed"}


class Cfg(ctypes.Structure):
    _fields_ = [("user", ctypes.c_char_p), ("secret", ctypes.c_char_p),
                ("host", ctypes.c_char_p), ("port", ctypes.c_uint),
                ("folders", ctypes.POINTER(ctypes.c_char_p)), ("n_folders", ctypes.c_uint8),
                ("auth", ctypes.c_uint8), ("security", ctypes.c_uint8), ("idle", ctypes.c_uint8)]


class Res(ctypes.Structure):
    _fields_ = [("highestmodseq", ctypes.c_uint64), ("messages", ctypes.c_uint32),
                ("unseen", ctypes.c_uint32), ("uidnext", ctypes.c_uint32),
                ("uidvalidity", ctypes.c_uint32), ("have", ctypes.c_uint8),
                ("state", ctypes.c_uint8)]


def build(tmp):
    mb = os.path.join(ROOT, ".deps", "src", "mbedtls-3.6.6")
    so = os.path.join(tmp, "libimap.so")
    src = [os.path.join(ROOT, "components", "imap", "src", f) for f in ("imap.c", "mutf7.c")]
    src += [os.path.join(ROOT, "components", "sasl", "src", "sasl.c")]
    src += [os.path.join(mb, "library", f) for f in ("base64.c", "constant_time.c",
                                                     "platform_util.c")]
    inc = ["components/imap/include", "components/sasl/include", "components/result/include"]
    cmd = ["gcc", "-shared", "-fPIC", "-O1", "-o", so] + src
    cmd += ["-I" + os.path.join(ROOT, i) for i in inc] + ["-I" + os.path.join(mb, "include")]
    subprocess.run(cmd, check=True)
    lib = ctypes.CDLL(so)
    lib.biff_imap_folder.restype = ctypes.POINTER(Res)
    lib.biff_imap_output.restype = ctypes.c_size_t
    return lib


def esc(b):
    out = []
    for ch in b:
        if ch == 0x5C:
            out.append("\\\\")
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append("\\x%02x" % ch)
    return "".join(out)


class Session:
    def __init__(self, lib, fx, name, note, port_name, auth, security, folders, user,
                 secret, idle=False, edit=None, on_idle=None, out_cap=1024, server=None,
                 subdir="", work_cap=512):
        self.lib, self.fx, self.name, self.subdir = lib, fx, name, subdir
        if server is None:
            server = "Dovecot " + subprocess.run(["dovecot", "--version"], capture_output=True,
                                                 text=True).stdout.split()[0]
        self.lines = ["# " + note, "# recorded from %s by record_dialogues.py" % server]
        self.lines.append("@ user=%s secret=%s auth=%s security=%s idle=%d out=%d %sport=%d "
                          "folders=%s" % (esc(user.encode()), esc(secret.encode()), auth,
                                          security, int(idle), out_cap,
                                          "work=%d " % work_cap if work_cap != 512 else "",
                                          fx.ports[port_name], ",".join(folders)))
        self.edit, self.on_idle, self.n_idle = edit, on_idle, 0
        self.port = fx.ports[port_name]
        self.ctx = ssl.create_default_context(cafile=fx.ca)
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if security == "tls":
            self.sock = self.ctx.wrap_socket(self.sock, server_hostname="localhost")
        fl = [f.encode() for f in folders]
        self.farr = (ctypes.c_char_p * len(fl))(*fl)
        self.cfg = Cfg(user.encode(), secret.encode(), b"localhost", self.port, self.farr,
                       len(fl), AUTH[auth], SEC[security], int(idle))
        self.e = ctypes.create_string_buffer(8192)
        self.work = ctypes.create_string_buffer(work_cap)
        self.out = ctypes.create_string_buffer(out_cap)
        r = lib.biff_imap_init(self.e, ctypes.byref(self.cfg), self.work, work_cap, self.out,
                               out_cap)
        assert r == 0, r
        self.done = False
        self.failed = False

    def flush(self):
        p = ctypes.c_void_p()
        n = self.lib.biff_imap_output(self.e, ctypes.byref(p))
        if n:
            data = ctypes.string_at(p, n)
            self.sock.sendall(data)
            self.lib.biff_imap_output_done(self.e, ctypes.c_size_t(n))
            for ln in data.split(b"\r\n")[:-1]:
                self.lines.append("C: " + esc(ln))
            assert data.endswith(b"\r\n")

    def event(self, ev):
        act = ""
        if ev == "starttls":
            self.lines.append("E: starttls")
            self.lines.append("T:")
            self.sock = self.ctx.wrap_socket(self.sock, server_hostname="localhost")
            assert self.lib.biff_imap_tls_started(self.e) == 0
            return
        if ev == "idling":
            self.n_idle += 1
            if self.on_idle:
                act = self.on_idle(self, self.n_idle) or ""
        if ev == "changed":
            act = "recheck"
        if act == "recheck":
            assert self.lib.biff_imap_recheck(self.e) == 0
        elif act == "logout":
            assert self.lib.biff_imap_logout(self.e) == 0
        self.lines.append(("E: %s %s" % (ev, act)).rstrip())
        if ev == "closed":
            self.done = True
        if ev == "failed":
            self.failed = True

    def run(self):
        buf = b""
        while not self.done:
            self.flush()
            try:
                self.sock.settimeout(1.0 if self.failed else 40)
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                if self.failed:
                    break
                if self.subdir == "lost":  # the server stalls: a real client waits for its timeout
                    self.lines.append("# (no more bytes from the server within 40 s)")
                    break
                print("\n".join(self.lines))
                raise
            if not data:
                break
            buf += data
            while b"\n" in buf and not self.done:
                ln, buf = buf.split(b"\n", 1)
                ln += b"\n"
                if self.edit:
                    ln = self.edit(ln)
                assert ln.endswith(b"\r\n")
                self.lines.append("S: " + esc(ln[:-2]))
                if self.failed:
                    continue
                while ln:
                    used = ctypes.c_size_t()
                    r = self.lib.biff_imap_feed(self.e, ln, len(ln), ctypes.byref(used))
                    ln = ln[used.value:]
                    ev = EV.get(r, "err%d" % r)
                    if ev:
                        self.event(ev)
                    if ev == "starttls":
                        ln, buf = b"", b""
                    self.flush()
                    if ev in ("failed", "closed"):
                        break
        try:
            self.sock.close()
        except OSError:
            pass
        cls = ctypes.c_char_p()
        err = self.lib.biff_imap_error(self.e, ctypes.byref(cls))
        names = ["none", "network", "tls", "auth_failed", "auth_method_unavailable",
                 "server_error", "protocol", "config"]
        for i in range(self.cfg.n_folders):
            r = self.lib.biff_imap_folder(self.e, i).contents
            self.lines.append("R: %d %d %d %d %d %d %d" % (i, r.state, r.messages, r.unseen,
                                                            r.uidnext, r.uidvalidity,
                                                            r.highestmodseq))
        self.lines.append("X: %s" % names[err])
        path = os.path.join(HERE, "data", self.subdir, self.name + ".txt")
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        print("wrote", path, names[err])


def strip_caps(*names):
    def edit(ln):
        if b"CAPABILITY" in ln:
            for n in names:
                ln = re.sub(rb" " + re.escape(n) + rb"(?=[ \]\r])", b"", ln)
        return ln
    return edit


def add_caps(*names):
    def edit(ln):
        if b"CAPABILITY" in ln:
            ln = ln.replace(b"CAPABILITY IMAP4rev1", b"CAPABILITY IMAP4rev1 " + b" ".join(names), 1)
        return ln
    return edit


def main():
    tmp = tempfile.mkdtemp(prefix="imaprec-")
    os.chmod(tmp, 0o755)
    lib = build(tmp)
    folders3 = ["INBOX", "Archive", "Entwürfe"]
    with mailfix.MailFixture(dir=os.path.join(tmp, "fx"), users=2, messages=5, unseen=2,
                             folders=folders3) as fx:
        u, pw = "user1", fx.users["user1"]
        tok = fx.tokens["user1"]

        def S(name, note, port, auth, sec, folders=folders3, secret=pw, **kw):
            if len(sys.argv) > 1 and name not in sys.argv[1:]:
                return
            Session(lib, fx, name, note, port, auth, sec, folders, u, secret, **kw).run()

        S("imaps_plain_ir", "implicit TLS, AUTO -> AUTHENTICATE PLAIN with SASL-IR, one flight",
          "imaps", "auto", "tls")
        S("starttls_plain", "STARTTLS on port 143, then CAPABILITY, PLAIN SASL-IR", "imap",
          "auto", "starttls")
        S("plain_noir", "SASL-IR stripped from the server's capabilities: continuation",
          "imaps", "plain", "tls", edit=strip_caps(b"SASL-IR"))
        S("login_quoted", "LOGIN with quoted credentials, cleartext on purpose (none)", "imap",
          "login", "none", folders=["INBOX"])
        S("xoauth2_ok", "XOAUTH2 token", "imaps", "xoauth2", "tls", secret=tok)
        S("oauthbearer_ok", "OAUTHBEARER token", "imaps", "oauthbearer", "tls", secret=tok,
          folders=["INBOX"])
        S("status_missing", "STATUS of a folder that does not exist", "imaps", "auto", "tls",
          folders=["INBOX", "Nonexistent"])
        S("condstore", "CONDSTORE added to the greeting's capabilities: HIGHESTMODSEQ asked",
          "imaps", "auto", "tls", edit=add_caps(b"CONDSTORE"))

        def on_idle(sess, n):
            if n == 1:
                fx.deliver("user1", subject="while idling")
                return ""
            return "logout"
        S("idle", "IDLE on INBOX, a message is delivered, EXISTS, recheck, logout", "imaps",
          "auto", "tls", folders=["INBOX", "Archive"], idle=True, on_idle=on_idle)
        S("auth_fail", "wrong password: AUTHENTICATE NO, pipelined STATUS are refused",
          "imaps", "auto", "tls", secret="wrong-password")
        S("login_fail", "LOGIN with wrong password", "imaps", "login", "tls",
          folders=["INBOX"], secret="nope\"\\x")
        S("xoauth2_fail", "XOAUTH2 bad token: JSON challenge, empty reply, NO", "imaps",
          "xoauth2", "tls", secret="tok-bad", folders=["INBOX"])
        S("oauthbearer_fail", "OAUTHBEARER bad token: challenge, AQ==, NO", "imaps",
          "oauthbearer", "tls", secret="tok-bad", folders=["INBOX"])
        S("login_literal_plus", "LOGIN, password with 8-bit bytes: non-sync literal (LITERAL+)",
          "imaps", "login", "tls", folders=["INBOX"], secret="gr\u00fc\u00dfe-wrong")
        S("login_literal_sync", "LITERAL+ stripped: sync literal, server's '+' continuation",
          "imaps", "login", "tls", folders=["INBOX"], secret="gr\u00fc\u00dfe-wrong",
          edit=strip_caps(b"LITERAL+"))
    print("fixture stopped")
    record_cyrus(lib, tmp)


def record_cyrus(lib, tmp):
    folders2 = ["INBOX", "Archive"]
    with cyrusfix.CyrusFixture(dir=os.path.join(tmp, "cyrus"), users=1, messages=5, unseen=2,
                               folders=folders2) as fx:
        u, pw = "user1", fx.users["user1"]

        def S(name, note, port, auth, sec, folders=folders2, **kw):
            if len(sys.argv) > 1 and name not in sys.argv[1:]:
                return
            if kw.get("subdir") == "lost" and name not in sys.argv[1:]:
                return  # only on request, with the engine that pipelined (see below)
            # work=1024 as in components/check: Cyrus's capability list is ~900 bytes
            Session(lib, fx, name, note, port, auth, sec, folders, u, pw,
                    server="Cyrus IMAP 3.6.1 (Debian 12)", work_cap=1024, **kw).run()

        S("cyrus_imaps_auto", "Cyrus, implicit TLS, AUTO -> PLAIN with SASL-IR: STATUS waits for "
          "the tagged OK, whose capabilities (CONDSTORE) give HIGHESTMODSEQ", "imaps", "auto", "tls")
        S("cyrus_starttls_login", "Cyrus, STARTTLS, LOGIN pipelined with STATUS and LOGOUT",
          "imap", "login", "starttls")
        S("cyrus_plain_noir", "Cyrus with SASL-IR stripped: PLAIN after the continuation, then "
          "STATUS", "imaps", "plain", "tls", edit=strip_caps(b"SASL-IR"))

        def on_idle(sess, n):
            if n == 1:
                fx.deliver("user1", subject="while idling")
                return ""
            return "logout"
        S("cyrus_idle", "Cyrus: IDLE and CONDSTORE only in the login's capabilities; a delivery "
          "through LMTP while idling, recheck, logout", "imaps", "auto", "tls", folders=["INBOX"],
          idle=True, on_idle=on_idle)
        # Recorded with the engine of commit bf08f6e, which pipelined STATUS behind
        # AUTHENTICATE: Cyrus answers the AUTHENTICATE twice and loses what followed it.
        S("cyrus_pipelined_lost", "Cyrus loses commands pipelined behind AUTHENTICATE "
          "(SASL-IR): OK, then BAD for the same tag", "imaps", "auto", "tls", subdir="lost")
        S("cyrus_pipelined_lost_noir", "Cyrus loses commands pipelined behind the AUTHENTICATE "
          "continuation: it reads the base64 line again as a command", "imaps", "plain", "tls",
          edit=strip_caps(b"SASL-IR"), subdir="lost")


if __name__ == "__main__":
    main()
