#!/usr/bin/env python3
"""luci-app-tinybiff's status box in headless Chromium, on a harness page that is NOT LuCI (it has
stand-ins for the few LuCI APIs the box uses, tests/router/luci), fed by the real router daemon:
the numbers are the daemon's (`tinybiff status`), HTML in folder names and server texts is shown
as text, Acknowledge acknowledges the running daemon, and the harness's rpcd side grants only
what the package's ACL file lists. Keeps a screenshot in the artifacts."""
import json
import os
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "browser"))
from mailfix import MailFixture  # noqa: E402
from daemonfix import Daemon, free_port  # noqa: E402
from test_status_page import browser  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

BIN = os.path.join(os.environ["BIFF_BIN"], "tinybiff")
WORK = os.environ["BIFF_WORK"]
ARTIFACTS = os.environ["BIFF_ARTIFACTS"]
APP = os.path.join(ROOT, "firmware", "router", "luci-app-tinybiff")
WIDGET = os.path.join(APP, "htdocs", "luci-static", "resources", "view", "status", "include", "60_tinybiff.js")
ACL = os.path.join(APP, "root", "usr", "share", "rpcd", "acl.d", "luci-app-tinybiff.json")
HTML_FOLDER = "<img src=x onerror=window.pwned=1>"


def allowed(acl, target, perm):
    """rpcd's rule for the file scope: some read/write section lists target with perm."""
    return any(perm in grant.get("file", {}).get(target, [])
               for group in acl.values() for key, grant in group.items() if key in ("read", "write"))


class Rpcd(BaseHTTPRequestHandler):
    """The harness's web server and the rpcd side of LuCI.fs, with the package's ACL."""
    files = {}     # router path -> this machine's path
    programs = {}  # router program -> (argv here, args appended after the router's arguments)
    log = []

    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        local = {"/harness.html": os.path.join(HERE, "luci", "harness.html"),
                 "/luci_standin.js": os.path.join(HERE, "luci", "luci_standin.js"),
                 "/widget.js": WIDGET}.get(self.path)
        if not local:
            return self.reply(404, {"error": "not found"})
        with open(local, "rb") as f:
            self.reply(200, f.read(), "text/html" if local.endswith(".html") else "text/javascript")

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(ACL) as f:
            acl = json.load(f)
        Rpcd.log.append((self.path, req))
        if self.path == "/fs/read":
            if not allowed(acl, req["path"], "read") or req["path"] not in self.files:
                return self.reply(403, {"error": "PermissionError"})
            with open(self.files[req["path"]]) as f:
                return self.reply(200, {"data": f.read()})
        if self.path == "/fs/exec":
            line = " ".join([req["command"]] + req["params"])
            if not allowed(acl, line, "exec") or req["command"] not in self.programs:
                return self.reply(403, {"error": "PermissionError"})
            exe, extra = self.programs[req["command"]]
            r = subprocess.run([exe] + req["params"] + extra, capture_output=True, text=True, timeout=30)
            return self.reply(200, {"code": r.returncode, "stdout": r.stdout, "stderr": r.stderr})
        self.reply(404, {"error": "not found"})


class LuciWidget(unittest.TestCase):
    def test_box_numbers_escaping_acknowledge(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        with MailFixture(dir=os.path.join(WORK, "luci"), users=2, messages=5, unseen=2,
                         folders=["INBOX", HTML_FOLDER], folder_messages=3, folder_unseen=2) as fx:
            accounts = [("home", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX",
                         {"idle": "1", "folder": ["INBOX", HTML_FOLDER]}),
                        ("pop", f"pop3s://user2@localhost:{fx.ports['pop3s']}", {}),
                        ("broken", f"imaps://user2@localhost:{fx.ports['imaps']}/INBOX", {"idle": "0"})]
            # Home Assistant's broker where nothing listens: its error in the box.
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts, bin=BIN, page=False,
                       secrets={"broken": "wrong-secret-42"},
                       mqtt=("ha", {"url": f"mqtt://127.0.0.1:{free_port()}", "client_id": "luci"}, None))
            if os.path.exists(d.state):
                os.remove(d.state)
            Rpcd.files = {"/var/run/tinybiff/status.json": os.path.join(d.dir, "status.json")}
            # On the router `tinybiff ack` reads /etc/config/tinybiff; here the test's config.
            Rpcd.programs = {"/usr/bin/tinybiff": (BIN, ["-c", d.config])}
            srv = ThreadingHTTPServer(("127.0.0.1", 0), Rpcd)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            drv = None
            try:
                with d:
                    d.wait_for(lambda s: all(a["last_check"] for a in s["accounts"])
                               and s["mqtt"]["state"] == "error", 15, "first checks, the broker's error")
                    d.wait_for(lambda s: "idling on INBOX" in d.read_log(), 5, "IDLE")
                    fx.deliver("user1", subject="for the router's box")
                    d.wait_for(lambda s: s["accounts"][0]["new"] == 1, 5, "new mail")
                    drv = browser(1024, 768)
                    drv.get(f"http://127.0.0.1:{srv.server_address[1]}/harness.html")
                    daemon_says = json.loads(d.ctl("status").stdout)
                    self.wait_box(drv, lambda: self.row(drv, "account", "home")[2] == "1")

                    # The box shows the daemon's numbers, per account and per folder.
                    for a in daemon_says["accounts"]:
                        name, unseen, new, _ = self.row(drv, "account", a["name"])
                        self.assertEqual((name, unseen, new), (a["name"], str(a["unseen"]), str(a["new"])))
                    for f in daemon_says["accounts"][0]["folders"]:
                        name, unseen, new, _ = self.row(drv, "folder", f["name"])
                        self.assertEqual((name.strip(), unseen, new), (f["name"], str(f["unseen"]), str(f["new"])))
                    self.assertEqual(daemon_says["accounts"][0]["folders"][1]["unseen"],
                                     fx.counts("user1", HTML_FOLDER)["unseen"])
                    # HTML from the server side stays text.
                    self.assertEqual(drv.find_elements(By.CSS_SELECTOR, "#box img"), [])
                    self.assertIsNone(drv.execute_script("return window.pwned"))
                    self.assertIn("auth_failed", self.row(drv, "account", "broken")[3])
                    self.assertNotIn("wrong-secret-42", drv.page_source)
                    mqtt = drv.find_element(By.ID, "tinybiff-mqtt")
                    self.assertEqual(mqtt.text, "Home Assistant (MQTT): error: " + daemon_says["mqtt"]["detail"])
                    self.assertIn("alert-message", mqtt.get_attribute("class"))
                    drv.save_screenshot(os.path.join(ARTIFACTS, "luci-box-before-ack.png"))

                    # Only what the ACL grants: other files and other commands are refused.
                    for call in ("standin.modules.fs.read('/etc/tinybiff/secrets')",
                                 "standin.modules.fs.exec('/usr/bin/tinybiff', ['status'])"):
                        err = drv.execute_async_script(
                            "var done = arguments[arguments.length - 1]; " + call +
                            ".then(function () { done('granted'); }, function (e) { done(String(e)); });")
                        self.assertIn("PermissionError", err, call)

                    # Acknowledge: the running daemon acknowledges, and the box follows.
                    self.click_ack(drv)
                    d.wait_for(lambda s: s["new"] == 0, 5, "the daemon acknowledging")
                    self.assertEqual([a["new"] for a in json.loads(d.ctl("status").stdout)["accounts"]], [0, 0, 0])
                    self.assertIn(("/fs/exec", {"command": "/usr/bin/tinybiff", "params": ["ack"]}), Rpcd.log)
                    self.wait_box(drv, lambda: self.row(drv, "account", "home")[2] == "0")
                    self.assertTrue(drv.execute_script("return document.getElementById('tinybiff-ack').disabled"))
                    drv.save_screenshot(os.path.join(ARTIFACTS, "luci-box-after-ack.png"))
            finally:
                if drv:
                    drv.quit()
                srv.shutdown()
                srv.server_close()

    def row(self, drv, kind, name):
        """The cells' text of one row, read in one step: the harness re-renders the box every
        second (as LuCI's status page polls), so elements found earlier can be gone."""
        cells = drv.execute_script(
            "var rows = document.querySelectorAll('#box tr[data-' + arguments[0] + ']');"
            "for (var i = 0; i < rows.length; i++)"
            "  if (rows[i].getAttribute('data-' + arguments[0]) === arguments[1])"
            "    return Array.prototype.map.call(rows[i].querySelectorAll('td'), function (td) { return td.innerText; });"
            "return null;", kind, name)
        if cells is None:
            raise AssertionError(f"no row for {kind} {name!r}")
        return cells

    def click_ack(self, drv):
        """A real click on the button, found again if a re-render replaced it meanwhile."""
        for _ in range(20):
            try:
                drv.find_element(By.ID, "tinybiff-ack").click()
                return
            except StaleElementReferenceException:
                time.sleep(0.05)
        raise AssertionError("the Acknowledge button kept being replaced")

    def wait_box(self, drv, pred, timeout=10):
        end = time.monotonic() + timeout
        while True:
            try:
                if pred():
                    return
            except Exception:
                if time.monotonic() >= end:
                    raise
            if time.monotonic() >= end:
                raise AssertionError("the box did not show it; it shows: " + drv.find_element(By.ID, "view").text)
            time.sleep(0.2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
