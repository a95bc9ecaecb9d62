"""Run `tinybiff run` against a MailFixture for tests: writes the UCI config and secrets file,
starts the daemon, reads /status.json, and always stops it."""
import json
import os
import signal
import socket
import shutil
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(os.environ.get("BIFF_BIN", os.path.join(HERE, "..", "..", "build", "host", "bin")), "tinybiff")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def section(kind, name, opts):
    """UCI lines of one section: `option` for values, `list` for lists."""
    lines = [f"config {kind} '{name}'"]
    for k, v in opts.items():
        vals = v if isinstance(v, list) else [v]
        lines += [f"\t{'list' if isinstance(v, list) else 'option'} {k} '{x}'" for x in vals]
    return lines + [""]


class Daemon:
    def __init__(self, dir, fx, accounts, leds=None, extra_main="", secrets=None, bin=None, wrapper=(), page=True,
                 mqtt=None):
        """accounts: list of (name, url, options dict); secrets: name -> secret (default: fixture
        passwords by URL user). mqtt: (name, options dict, password or None) for a config mqtt
        section and its secrets file entry. bin: the tinybiff to run (default BIN), under wrapper (e.g.
        ["qemu-mipsel"]); page=False for builds without the status page: status() then reads the
        status_json file the daemon keeps."""
        self.bin = bin or BIN
        self.wrapper = list(wrapper)
        self.page = page
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(dir, "config")
        self.secrets = os.path.join(dir, "secrets")
        self.log = os.path.join(dir, "daemon.log")
        self.state = os.path.join(dir, "state.img")
        # `tinybiff ack`/`status`; a unix socket path has at most 107 bytes, so not under dir.
        self.control_dir = tempfile.mkdtemp(prefix="tinybiff-ctl-")
        os.rmdir(self.control_dir)  # the daemon makes it, mode 0700
        self.control = os.path.join(self.control_dir, "control")
        lines = ["config tinybiff 'main'", "\toption interval '60'", f"\toption status_bind '127.0.0.1:{self.port}'",
                 f"\toption ca '{fx.ca}'", f"\toption secrets '{self.secrets}'", f"\toption state '{self.state}'",
                 f"\toption status_json '{os.path.join(dir, 'status.json')}'",
                 f"\toption control '{self.control}'", extra_main, ""]
        sec = []
        for name, url, opts in accounts:
            lines += section("account", name, dict(url=url, **opts))
            user = url.split("://", 1)[1].split("@", 1)[0].split(";", 1)[0]
            sec.append(f"{name} = {(secrets or {}).get(name, fx.users.get(user, 'x'))}")
        for name, opts in (leds or {}).items():
            lines += section("led", name, opts)
        if mqtt:
            lines += section("mqtt", mqtt[0], mqtt[1])
            if mqtt[2] is not None:
                sec.append(f"{mqtt[0]} = {mqtt[2]}")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        open(self.log, "w").close()  # this object's runs only: tests wait for lines in it
        # Made afresh: the daemon refuses a secrets file of another user, and a fixture may have
        # given its whole directory (an earlier run's file included) to its server's user.
        if os.path.lexists(self.secrets):
            os.remove(self.secrets)
        with os.fdopen(os.open(self.secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write("\n".join(sec) + "\n")
        self.proc = None

    def start(self, env=None):
        self.proc = None
        if not self.page and os.path.exists(os.path.join(self.dir, "status.json")):
            os.remove(os.path.join(self.dir, "status.json"))  # start() waits for this run's
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(self.command("run", "-c", self.config), stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        end = time.monotonic() + (10 if not self.wrapper else 60)  # qemu-user is slower
        while time.monotonic() < end:
            try:
                self.status()
                return self
            except (OSError, ValueError):
                if self.proc.poll() is not None:
                    raise RuntimeError("daemon exited: " + self.read_log())
                time.sleep(0.05)
        raise RuntimeError("status page never came up: " + self.read_log())

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def command(self, *args):
        """argv running this daemon's tinybiff (under the wrapper) with args."""
        return self.wrapper + [self.bin] + list(args)

    def ctl(self, what, check=True):
        """`tinybiff ack` or `tinybiff status` against this daemon; the CompletedProcess."""
        r = subprocess.run(self.command(what, "-c", self.config), capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"tinybiff {what}: rc {r.returncode}: {r.stderr}")
        return r

    def status(self):
        if not self.page:
            with open(os.path.join(self.dir, "status.json")) as f:
                return json.load(f)
        with urllib.request.urlopen(self.url("/status.json"), timeout=5) as r:
            return json.load(r)

    def account(self, name):
        for a in self.status()["accounts"]:
            if a["name"] == name:
                return a
        raise KeyError(name)

    def wait_for(self, pred, timeout, what):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = self.status()
            if pred(last):
                return time.monotonic() - (end - timeout)
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; last status {last}")

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        shutil.rmtree(self.control_dir, ignore_errors=True)
        rc = self.proc.returncode if self.proc else None
        self.proc_done = self.proc
        return rc

    def __enter__(self):
        # `with d.start(env=...)` has started it already; plain `with d:` starts it here.
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
