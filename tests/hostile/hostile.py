"""A scriptable hostile mail server for tests: real sockets on loopback, plain or TLS.

Each scenario is a function taking a Peer; it plays one connection the way a broken, slow or
malicious server would. Everything the client sent is recorded (Peer.received) so tests can
assert what never went out (credentials before TLS, for instance).

    with HostileServer(scenario, tls=pki) as srv:
        run_client(port=srv.port)
        assert b"LOGIN" not in srv.received
"""
import socket
import ssl
import struct
import threading
import time


class Peer:
    def __init__(self, sock, server):
        self.sock = sock
        self.server = server
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError
        self.server._record(chunk)
        self.buf += chunk

    def recv_line(self, timeout=10.0):
        """One CRLF- or LF-terminated line from the client (bytes, without the ending)."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            self._fill(max(0.01, end - time.monotonic()))
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def tag(self, line):
        return line.split(b" ", 1)[0].decode(errors="replace")

    def start_tls(self, drop_pending=True):
        """Server side of STARTTLS/STLS (the client speaks first)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server.tls_cert, self.server.tls_key)
        if drop_pending:
            self.buf = b""
        self.sock.settimeout(10)
        self.sock = ctx.wrap_socket(self.sock, server_side=True)

    def send_slowly(self, data, interval=1.0):
        """Slowloris: one byte per interval."""
        if isinstance(data, str):
            data = data.encode()
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(interval)

    def recv_until(self, needle, timeout=10.0):
        """Lines from the client until one contains needle (bytes); returns that line."""
        end = time.monotonic() + timeout
        while True:
            line = self.recv_line(max(0.01, end - time.monotonic()))
            if needle in line.upper():
                return line

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def reset(self):
        """Close with RST instead of FIN."""
        raw = self.sock
        if isinstance(raw, ssl.SSLSocket):
            raw = socket.socket(fileno=raw.detach())
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()

    def wait_closed(self, timeout=30.0):
        """Wait until the client closes (or the timeout passes); never raises."""
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end and not self.server._stop.is_set():
                try:
                    self._fill(min(0.2, max(0.01, end - time.monotonic())))
                except socket.timeout:
                    pass
        except (EOFError, OSError, socket.timeout):
            pass


class HostileServer:
    """Accepts connections on 127.0.0.1 and runs scenario(peer) for each, in a thread."""

    def __init__(self, scenario, tls_cert=None, tls_key=None, implicit_tls=False, host="127.0.0.1"):
        self.scenario = scenario
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.implicit_tls = implicit_tls
        self.received = b""
        self.errors = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._peers = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]

    def _record(self, data):
        with self._lock:
            self.received += data

    def _serve(self, conn):
        peer = Peer(conn, self)
        with self._lock:
            self._peers.append(peer)
        try:
            if self.implicit_tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.tls_cert, self.tls_key)
                conn.settimeout(10)
                peer.sock = ctx.wrap_socket(conn, server_side=True)
            self.scenario(peer)
        except (EOFError, ConnectionError, socket.timeout, ssl.SSLError, OSError):
            pass  # the client hanging up is a normal end of a hostile scenario
        except Exception as e:  # a bug in the scenario itself must fail the test
            self.errors.append(repr(e))
        finally:
            try:
                peer.sock.close()
            except OSError:
                pass

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def __enter__(self):
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._acceptor.join(5)
        self.lsock.close()
        # Scenarios that stall (silence, ignored DONE) end when their socket goes away.
        with self._lock:
            for p in self._peers:
                try:
                    p.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self._threads:
            t.join(5)
