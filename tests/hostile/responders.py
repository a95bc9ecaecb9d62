"""Well-behaved protocol tails for hostile scenarios: once the hostile part is over, these answer
like a minimal correct server, so a test can tell "the attack had no effect" from "it broke"."""

STATUS_LINE = b"(MESSAGES 3 UNSEEN 1 UIDNEXT 4 UIDVALIDITY 7)"


def imap_serve(peer, caps=b"IMAP4rev1 AUTH=PLAIN SASL-IR"):
    while True:
        line = peer.recv_line()
        parts = line.split(b" ")
        tag = parts[0]
        cmd = parts[1].upper() if len(parts) > 1 else b""
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
            peer.send(b"* STATUS " + parts[2] + b" " + STATUS_LINE + b"\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGOUT":
            peer.send(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            peer.close()
            return
        elif cmd == b"NOOP":
            peer.send(tag + b" OK done\r\n")
        else:
            peer.send(tag + b" BAD unknown\r\n")


def pop3_serve(peer, uids=(b"a", b"b", b"c")):
    while True:
        line = peer.recv_line()
        cmd = line.split(b" ")[0].upper()
        if cmd == b"CAPA":
            peer.send(b"+OK\r\nUSER\r\nUIDL\r\nSASL PLAIN\r\n.\r\n")
        elif cmd in (b"USER", b"PASS", b"AUTH", b"APOP"):
            peer.send(b"+OK\r\n")
        elif cmd == b"STAT":
            peer.send(b"+OK %d %d\r\n" % (len(uids), 100 * len(uids)))
        elif cmd == b"UIDL":
            body = b"".join(b"%d %s\r\n" % (i + 1, u) for i, u in enumerate(uids))
            peer.send(b"+OK\r\n" + body + b".\r\n")
        elif cmd == b"QUIT":
            peer.send(b"+OK bye\r\n")
            peer.close()
            return
        else:
            peer.send(b"-ERR unknown\r\n")
