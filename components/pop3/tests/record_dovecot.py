#!/usr/bin/env python3
"""Record POP3 dialogues from a running (throwaway) Dovecot into transcript files.

The client side replays exactly what the biff_pop3 engine sends for each scenario, so the unit
test can check the engine's bytes against the recording. Expected base64/APOP values are computed
here independently of the C code.

usage: record_dovecot.py HOST PORT OUTDIR [--tls-port PORT_WITH_SSL]
Transcript format: see data/README.
"""
import base64, hashlib, re, socket, ssl, sys, time

def esc(b):
    out = []
    for c in b:
        if c == 0x5c:
            out.append("\\\\")
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)

class Rec:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.lines = []
        self.buf = b""

    def _recv(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._recv()
        i = self.buf.index(b"\r\n") + 2
        l, self.buf = self.buf[:i], self.buf[i:]
        self.lines.append("S: " + esc(l[:-2]))
        return l[:-2]

    def read_multi(self):
        first = self.read_line()
        if not first.startswith(b"+OK"):
            return first, []
        body = []
        while True:
            l = self.read_line()
            if l == b".":
                return first, body
            body.append(l[1:] if l.startswith(b".") else l)

    def send(self, *cmds):
        for c in cmds:
            self.lines.append("C: " + esc(c))
        self.s.sendall(b"".join(c + b"\r\n" for c in cmds))

    def read_to_eof(self):
        try:
            while True:
                self._recv()
        except (EOFError, socket.timeout, ConnectionError):
            pass
        while b"\r\n" in self.buf:
            self.read_line()
        if self.buf:
            self.lines.append("S~ " + esc(self.buf))

def b64(x):
    return base64.b64encode(x)

def session(host, port, name, user, secret, auth, uidl=True, stls=False, tls_port_ctx=None, header=(), token=None):
    r = Rec(host, port)
    greet = r.read_line()
    r.send(b"CAPA")
    first, capa = r.read_multi()
    if stls:
        r.send(b"STLS")
        resp = r.read_line()
        assert resp.startswith(b"+OK"), resp
        assert not r.buf
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        r.s = ctx.wrap_socket(r.s, server_hostname="localhost")
        r.lines.append("T:")
        r.send(b"CAPA")
        first, capa = r.read_multi()
    pipe = b"PIPELINING" in capa
    ok = False
    if auth == "PLAIN":
        r.send(b"AUTH PLAIN " + b64(b"\0" + user + b"\0" + secret))
        ok = r.read_line().startswith(b"+OK")
    elif auth == "USER":
        if pipe:
            r.send(b"USER " + user, b"PASS " + secret)
            a = r.read_line()
            if a.startswith(b"+OK"):
                ok = r.read_line().startswith(b"+OK")
            else:
                r.read_line()
        else:
            r.send(b"USER " + user)
            r.read_line()
            r.send(b"PASS " + secret)
            ok = r.read_line().startswith(b"+OK")
    elif auth == "APOP":
        ts = re.search(rb"<[^>]*>", greet).group(0)
        r.send(b"APOP " + user + b" " + hashlib.md5(ts + secret).hexdigest().encode())
        ok = r.read_line().startswith(b"+OK")
    elif auth in ("XOAUTH2", "OAUTHBEARER"):
        if auth == "XOAUTH2":
            msg = b"user=" + user + b"\x01auth=Bearer " + secret + b"\x01\x01"
        else:
            msg = (b"n,a=" + user.replace(b"=", b"=3D").replace(b",", b"=2C") + b",\x01host=127.0.0.1\x01port="
                   + str(port).encode() + b"\x01auth=Bearer " + secret + b"\x01\x01")
        r.send(b"AUTH " + auth.encode() + b" " + b64(msg))
        l = r.read_line()
        if l.startswith(b"+ ") or l == b"+":
            r.send(b"AQ==" if auth == "OAUTHBEARER" else b"")
            l = r.read_line()
        ok = l.startswith(b"+OK")
    if ok:
        cmds = [b"STAT"] + ([b"UIDL"] if uidl else []) + [b"QUIT"]
        if pipe:
            r.send(*cmds)
        else:
            raise SystemExit("non-pipelined Dovecot not expected")
        r.read_to_eof()
    r.s.close()
    return r.lines

def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tls_port = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--tls-port" else None
    sc = [
        # name, user, secret, auth, uidl, stls, directives
        ("dovecot_auto_plain", b"alice", b"alicepw", "PLAIN", True, False,
         ["@auth AUTO", "@expect DONE", "@messages 3", "@uidl 1"]),
        ("dovecot_plain", b"alice", b"alicepw", "PLAIN", True, False,
         ["@auth PLAIN", "@expect DONE", "@messages 3", "@uidl 1"]),
        ("dovecot_user_pass", b"alice", b"alicepw", "USER", True, False,
         ["@auth USER", "@expect DONE", "@messages 3", "@uidl 1"]),
        ("dovecot_apop", b"alice", b"alicepw", "APOP", True, False,
         ["@auth APOP", "@expect DONE", "@messages 3", "@uidl 1"]),
        ("dovecot_xoauth2", b"alice", b"alicepw", "XOAUTH2", True, False,
         ["@auth XOAUTH2", "@expect DONE", "@messages 3", "@uidl 1"]),
        ("dovecot_oauthbearer", b"alice", b"alicepw", "OAUTHBEARER", True, False,
         ["@auth OAUTHBEARER", "@host 127.0.0.1", "@port %d" % port, "@expect DONE", "@messages 3", "@uidl 1"]),
        ("dovecot_stat_only", b"bob", b"bobpw", "PLAIN", False, False,
         ["@auth PLAIN", "@nouidl", "@expect DONE", "@messages 1", "@uidl 0"]),
        ("dovecot_empty", b"empty", b"emptypw", "PLAIN", True, False,
         ["@auth PLAIN", "@expect DONE", "@messages 0", "@uidl 1"]),
        ("dovecot_plain_badpw", b"alice", b"wrong", "PLAIN", True, False,
         ["@auth PLAIN", "@expect ERROR", "@error auth_failed", "@detail [AUTH] Authentication failed."]),
        ("dovecot_user_badpw", b"alice", b"wrong", "USER", True, False,
         ["@auth USER", "@expect ERROR", "@error auth_failed", "@detail Authentication failed"]),
        ("dovecot_apop_badpw", b"alice", b"wrong", "APOP", True, False,
         ["@auth APOP", "@expect ERROR", "@error auth_failed", "@detail Authentication failed"]),
        ("dovecot_xoauth2_badtoken", b"alice", b"badtoken", "XOAUTH2", True, False,
         ["@auth XOAUTH2", "@expect ERROR", "@error auth_failed", "@detail OAuth2 token rejected"]),
        ("dovecot_oauthbearer_badtoken", b"alice", b"badtoken", "OAUTHBEARER", True, False,
         ["@auth OAUTHBEARER", "@host 127.0.0.1", "@port %d" % port, "@expect ERROR", "@error auth_failed",
          "@detail OAuth2 token rejected"]),
    ]
    if tls_port:
        sc = [("dovecot_stls_plain", b"alice", b"alicepw", "PLAIN", True, True,
               ["@auth PLAIN", "@security STARTTLS", "@expect DONE", "@messages 3", "@uidl 1"]),
              ("dovecot_stls_user", b"bob", b"bobpw", "USER", True, True,
               ["@auth USER", "@security STARTTLS", "@expect DONE", "@messages 1", "@uidl 1"])]
        port = tls_port
    for name, user, secret, auth, uidl, stls, extra in sc:
        lines = session(host, port, name, user, secret, auth, uidl, stls)
        uids, i = [], 0
        while i < len(lines) and lines[i] != "C: UIDL":
            i += 1
        j = i
        while j < len(lines) and not re.match(r"S: \+OK \d+ \d+$", lines[j]):
            j += 1
        if i < len(lines) and j + 1 < len(lines) and lines[j + 1].startswith("S: +OK"):
            j += 2
            while lines[j] != "S: .":
                uids.append("@uid " + lines[j][3:].lstrip("."))
                j += 1
        extra = extra + uids
        hdr = ["# recorded from Dovecot %s by tests/record_dovecot.py" % "2.3.19.1",
               "@user " + user.decode(), "@secret " + secret.decode()]
        if not any(e.startswith("@security") for e in extra):
            hdr.append("@security NONE")
        with open("%s/%s.txt" % (out, name), "w") as f:
            f.write("\n".join(hdr + extra + lines) + "\n")
        print(name, len(lines))

if __name__ == "__main__":
    main()
