"""Well-behaved protocol tails for hostile scenarios: once the hostile part is over, these answer
like a minimal correct server, so a test can tell "the attack had no effect" from "it broke".

`on` maps a command (upper-case bytes, e.g. b"STATUS") to a hook hook(peer, tag, line): the hook
plays the hostile part for that command; when it returns True the responder goes on serving,
otherwise the responder returns (the scenario decides what happens to the connection)."""

STATUS_LINE = b"(MESSAGES 3 UNSEEN 1 UIDNEXT 4 UIDVALIDITY 7)"
IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hostile test server\r\n"
POP3_GREETING = b"+OK hostile test server\r\n"


def imap_status(messages=3, unseen=1, uidnext=4, uidvalidity=7):
    return b"(MESSAGES %d UNSEEN %d UIDNEXT %d UIDVALIDITY %d)" % (messages, unseen, uidnext, uidvalidity)


def imap_serve(peer, caps=b"IMAP4rev1 AUTH=PLAIN SASL-IR", status=STATUS_LINE, on=None):
    while True:
        line = peer.recv_line()
        parts = line.split(b" ")
        tag = parts[0]
        cmd = parts[1].upper() if len(parts) > 1 else b""
        if on and cmd in on:
            if on[cmd](peer, tag, line):
                continue
            return
        if cmd == b"CAPABILITY":
            peer.send(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
        elif cmd == b"AUTHENTICATE":
            if len(parts) < 4:  # no SASL-IR: ask for the response
                peer.send(b"+ \r\n")
                peer.recv_line()
            peer.send(tag + b" OK [CAPABILITY " + caps + b"] logged in\r\n")
        elif cmd == b"LOGIN":
            peer.send(tag + b" OK logged in\r\n")
        elif cmd == b"STATUS":
            peer.send(b"* STATUS " + parts[2] + b" " + status + b"\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGOUT":
            peer.send(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            peer.close()
            return
        elif cmd == b"NOOP":
            peer.send(tag + b" OK done\r\n")
        else:
            peer.send(tag + b" BAD unknown\r\n")


def imap_session(peer, greeting=IMAP_GREETING, **kw):
    """Greeting, then imap_serve."""
    peer.send(greeting)
    imap_serve(peer, **kw)


def pop3_serve(peer, uids=(b"a", b"b", b"c"), on=None, capa=b"USER\r\nUIDL\r\nSASL PLAIN\r\n"):
    while True:
        line = peer.recv_line()
        cmd = line.split(b" ")[0].upper()
        if on and cmd in on:
            if on[cmd](peer, None, line):
                continue
            return
        if cmd == b"CAPA":
            peer.send(b"+OK\r\n" + capa + b".\r\n")
        elif cmd in (b"USER", b"PASS", b"AUTH", b"APOP"):
            peer.send(b"+OK\r\n")
        elif cmd == b"STAT":
            peer.send(b"+OK %d %d\r\n" % (len(uids), 100 * len(uids)))
        elif cmd == b"UIDL":
            peer.send(b"+OK\r\n" + uidl_body(uids) + b".\r\n")
        elif cmd == b"QUIT":
            peer.send(b"+OK bye\r\n")
            peer.close()
            return
        else:
            peer.send(b"-ERR unknown\r\n")


def uidl_body(uids):
    return b"".join(b"%d %s\r\n" % (i + 1, u) for i, u in enumerate(uids))


class HeldUidl:
    """A UIDL hook for pop3_serve (on={b"UIDL": hook}) that lists `uids` (a list the test may
    change) and, once `hold` is set, keeps one listing open without its final dot (`paused` is
    set then) until the test sets `release`: a check caught half-way through its listing."""

    def __init__(self, uids):
        import threading
        self.uids = uids
        self.hold, self.paused, self.release = threading.Event(), threading.Event(), threading.Event()

    def __call__(self, peer, tag, line):
        body = uidl_body(self.uids)
        if not self.hold.is_set():
            peer.send(b"+OK\r\n" + body + b".\r\n")
            return True
        self.hold.clear()
        peer.send(b"+OK\r\n" + body)
        self.paused.set()
        self.release.wait(30)
        peer.send(b".\r\n")
        return True


def pop3_session(peer, greeting=POP3_GREETING, **kw):
    """Greeting, then pop3_serve."""
    peer.send(greeting)
    pop3_serve(peer, **kw)


def imap_starttls_session(peer, caps=b"IMAP4rev1 STARTTLS LOGINDISABLED", **kw):
    """Plain greeting offering STARTTLS, the upgrade, then imap_serve over TLS."""
    peer.send(b"* OK [CAPABILITY " + caps + b"] hostile test server\r\n")
    while True:
        line = peer.recv_line()
        parts = line.split(b" ")
        tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else b"")
        if cmd == b"STARTTLS":
            peer.send(tag + b" OK begin TLS\r\n")
            peer.start_tls()
            imap_serve(peer, **kw)
            return
        if cmd == b"CAPABILITY":
            peer.send(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
        else:
            peer.send(tag + b" BAD TLS first\r\n")


def pop3_starttls_session(peer, **kw):
    """Plain greeting, CAPA with STLS, the upgrade, then pop3_serve over TLS."""
    peer.send(POP3_GREETING)
    while True:
        cmd = peer.recv_line().split(b" ")[0].upper()
        if cmd == b"CAPA":
            peer.send(b"+OK\r\nSTLS\r\nUSER\r\nUIDL\r\n.\r\n")
        elif cmd == b"STLS":
            peer.send(b"+OK begin TLS\r\n")
            peer.start_tls()
            pop3_serve(peer, **kw)
            return
        else:
            peer.send(b"-ERR TLS first\r\n")
