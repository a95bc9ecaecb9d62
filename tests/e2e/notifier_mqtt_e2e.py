#!/usr/bin/env python3
"""End-to-end: the notifier in QEMU (mps2-an385) publishes to Home Assistant through a real
broker (issue 17). Debian's mosquitto (tests/fixture/mqttfix.py: TLS, a password file, ACLs) and
Dovecot (mailfix.py) on 127.0.0.1, reached from the guest through QEMU's user network (10.0.2.2
is the host's loopback; the host table maps the certificates' name "localhost" to it), one CA
file for both. A subscriber (mosquitto_sub, user `ha`) plays Home Assistant.

1. The broker holds exactly what biff_ha publishes for the notifier's accounts and counts
   (byte for byte against ha_tool, which runs biff_ha on the host), all retained.
2. A delivery changes `new` on MQTT within 2 s for the IDLE account, within one check for the
   polled one; LED0 blinks.
3. PRESS on the button's command topic acknowledges: `new` 0 on MQTT, in /status.json (what the
   page draws), on the LED.
4. The broker restarts without what it retained: everything is published again.
5. The device dies (QEMU killed): its availability becomes `offline` through the last will.
6. A boot against a broker certificate for another name, and one with a wrong password: a clear
   error in /status.json's mqtt and on the page (headless Chromium) while the mail checks go on.
The password appears in no UART line, no status output and not in this test's output.
Also prints the TLS pool figures with and without the broker's session (README "RAM").

usage: notifier_mqtt_e2e.py ELF WORKDIR HOST_TESTS_DIR
"""
import json
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, HERE)
import notifier_e2e as ne  # noqa: E402  (Qemu, fetch_json, LED helpers)
from mailfix import FixtureError, MailFixture  # noqa: E402
from mqttfix import MqttFixture, Subscriber, ha_expected  # noqa: E402

NODE, BASE = "tbn", "tinybiff/tbn"
DEVICE = (NODE, "tinybiff notifier", "0.1.0")  # mqtt_host.c: the client id names the device
N_RETAINED = 1 + 3 + 3 * 2 + 1 + 2  # availability, 3 + 3n configs, totals, the accounts
Fail = ne.Fail
said = []  # this test's own lines, checked for passwords at the end


def log(msg):
    said.append(msg)
    ne.log(msg)


def expect(cond, what):
    if not cond:
        raise Fail(what)
    log("ok: " + what)


def provision(path, fx, b, listener="tls", password=None, idle=False):
    """Two polled accounts (imap-0, pop3-1), or the IMAP one alone in IDLE (the 2 s bound is for
    IDLE undisturbed; other accounts' checks pause IDLE in the notifier's one session)."""
    pw = dict(fx.users)
    with ne.private_file(path) as f:
        f.write(f"time {int(time.time())}\nhost localhost 10.0.2.2\ninterval 5\nca {fx.ca}\n"
                f"account imaps://user1@localhost:{fx.ports['imaps']}/INBOX {pw['user1']}{' idle' if idle else ''}\n")
        if not idle:
            f.write(f"account pop3s://user2@localhost:{fx.ports['pop3s']} {pw['user2']}\n")
        f.write(f"mqtt_url mqtts://localhost:{b.ports[listener]}\nmqtt_username device\n"
                f"mqtt_password {password or b.passwords['device']}\n"
                f"mqtt_client_id {NODE}\nmqtt_base_topic {BASE}\n")


def settled(b):
    """The broker's retained set once it holds the whole publication, else None."""
    r = b.retained("#")
    return r if len(r) == N_RETAINED else None


def wait_settled(b, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = settled(b)
        if got:
            return got
        time.sleep(0.2)
    raise Fail(f"the broker does not hold the whole publication {what}: {b.retained('#')}")


def pool_line(q, start=0):
    _, m = q.wait_for(r"^check pop3-1 ok .*heap_peak=(\d+)", start, 30)
    return int(m.group(1))


def page_shows(port, want):
    """The page (headless Chromium) draws /status.json's mqtt line."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = ne.chromium()
    try:
        drv.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(drv, 15).until(lambda d: d.find_element(By.ID, "mqtt").text)
        el = drv.find_element(By.ID, "mqtt")
        return want in el.text and "err" in el.get_attribute("class"), el.text
    finally:
        drv.quit()


def run(elf, work, tool):
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    os.chmod(work, 0o755)  # Dovecot's mail user walks into it
    fx = MailFixture(dir=os.path.join(work, "mail"), users=2, messages=3, unseen=1)
    fx.start()
    b = sub = q = None
    secrets = [p for p in dict(fx.users).values()]
    uart = []
    try:
        b = MqttFixture(os.path.join(work, "mq"), node=NODE, base=BASE, pki=fx.pki)
        b.start()
        secrets += list(b.passwords.values())
        cfg = os.path.join(work, "notifier.cfg")
        provision(cfg, fx, b)
        sub = Subscriber(b)
        port = ne.free_port()
        t_boot = time.monotonic()
        q = ne.Qemu(elf, cfg, os.path.join(work, "flash.bin"), os.path.join(work, "trace1.log"), port)
        i, m = q.wait_for(r"^mqtt: connected \(tls pool in use (\d+), peak (\d+)\)", 0, 40)
        log(f"broker connected {time.monotonic() - t_boot:.1f} s after the boot; {m.group(0)}")
        pool_with = pool_line(q, i)
        q.wait_for(r"^check imap-0 ok ", 0, 30)
        # 1. exactly biff_ha's publication (the states of both first checks)
        end = time.monotonic() + 5
        while True:
            st = ne.fetch_json(port)
            got = wait_settled(b, 15, "after the first checks")
            want = ha_expected(tool, NODE, BASE, DEVICE, st, got)
            diff = {t: (got.get(t), want.get(t)) for t in set(got) | set(want) if got.get(t) != want.get(t)}
            if not diff or time.monotonic() > end:
                break
            time.sleep(0.5)
        ids = {json.loads(p)["name"].split(" ")[0]: t.split("/")[3].split("_")[0] for t, p in got.items()
               if t.endswith("_unread/config")}
        expect(not diff, f"the broker holds exactly biff_ha's {len(want)} retained messages for these accounts"
               + (f"; differing (broker, biff_ha): {diff}" if diff else ""))
        expect(got[f"{BASE}/availability"] == "online", "availability online")
        expect(st["mqtt"] == {"state": "connected", "detail": None}, f"/status.json mqtt: {st['mqtt']}")

        # 2. a delivery to a polled account: `new` on MQTT within one check (interval 5 s)
        t0 = time.monotonic()
        fx.deliver("user2", subject="for HA")
        m = sub.wait(lambda t, p: t == f"{BASE}/state" and json.loads(p)["new"] == 1, 5 + 3, "the POP3 delivery",
                     since=t0)
        expect(True, f"POP3 delivery: totals new 1 on MQTT after {m[0] - t0:.2f} s (interval 5 s)")
        expect(ne.led_blinks(q), "LED0 blinks (new)")

        # 3. PRESS acknowledges: MQTT, /status.json, LED
        mark = q.mark()
        t0 = time.monotonic()
        b.publish(f"{BASE}/ack", "PRESS")
        sub.wait(lambda t, p: t == f"{BASE}/state" and json.loads(p)["new"] == 0, 3, "new 0 after PRESS", since=t0)
        q.wait_for(r"^ack: new mail acknowledged", mark, 5)
        st = ne.fetch_json(port)
        expect(st["new"] == 0 and all(a["new"] == 0 for a in st["accounts"]), "PRESS: /status.json new 0")
        q.wait_for(r"^led steady", mark, 5)
        expect(ne.led_steady(q)[0], "PRESS: LED0 steady (unread, nothing new)")

        expect(not q.grep(r"^tls heap: .* more in use"),
               "the leak check between checks takes the broker's session as its share, not as a leak")

        # 4. a restarted broker (nothing retained) gets everything again
        b.restart()
        t0 = time.monotonic()
        again = wait_settled(b, 25, "after the broker restarted")
        want = ha_expected(tool, NODE, BASE, DEVICE, ne.fetch_json(port), again)
        expect(again == want,
               f"republished exactly {time.monotonic() - t0:.1f} s after the broker restarted")

        # 5. the device dies: the last will
        sub.close()
        sub = Subscriber(b, f"{BASE}/availability")
        t0 = time.monotonic()
        uart += q.lines
        q.stop()
        q = None
        sub.wait(lambda t, p: p == "offline", 10, "the last will", since=t0)
        expect(b.retained(f"{BASE}/availability") == {f"{BASE}/availability": "offline"},
               "a dead notifier is `offline` (its last will, retained)")
        sub.close()

        # 2b. the IMAP account alone, in IDLE: a delivery shows on MQTT within 2 s
        provision(cfg, fx, b, idle=True)
        sub = Subscriber(b)
        q = ne.Qemu(elf, cfg, os.path.join(work, "flash.bin"), os.path.join(work, "trace-idle.log"), port)
        q.wait_for(r"^idle imap-0 on INBOX", 0, 30)
        q.wait_for(r"^mqtt: connected ", 0, 30)
        idle_topic = f"{BASE}/account/{ids['imap-0']}"
        gone = [t for t in got if ids["pop3-1"] in t]
        end = time.monotonic() + 10
        while any(t in b.retained("#") for t in gone) and time.monotonic() < end:
            time.sleep(0.2)
        expect(not any(t in b.retained("#") for t in gone),
               f"the removed account's {len(gone)} retained messages are deleted from the broker")
        time.sleep(1.0)  # the server has the IDLE command: its notifications are armed
        t0 = time.monotonic()
        fx.deliver("user1", subject="for HA in IDLE")
        m = sub.wait(lambda t, p: t == idle_topic and json.loads(p)["new"] >= 1, 2.0, "the IDLE delivery", since=t0)
        expect(True, f"IDLE delivery: new on MQTT after {m[0] - t0:.2f} s (<= 2 s)")
        uart += q.lines
        q.stop()
        q = None

        # 6. a wrong certificate and a wrong password: clear errors, mail goes on
        pool_without = None
        for what, listener, password, detail in (
                ("a certificate for another name", "wrong", None, "TLS: "),
                ("a wrong password", "tls", "wrong-pass-4711", "refused the login")):
            secrets.append("wrong-pass-4711")
            provision(cfg, fx, b, listener, password)
            q = ne.Qemu(elf, cfg, os.path.join(work, "flash.bin"), os.path.join(work, f"trace-{listener}.log"), port)
            i, _ = q.wait_for(r"^mqtt: error: ", 0, 40)
            pool = pool_line(q, i)
            q.wait_for(r"^check imap-0 ok ", i, 30)
            if password:
                pool_without = pool
            st = ne.fetch_json(port)
            expect(st["mqtt"]["state"] == "error" and detail in (st["mqtt"]["detail"] or ""),
                   f"{what}: /status.json says {st['mqtt']['detail']!r}")
            expect(all(a["error"] is None and a["last_check"] for a in st["accounts"]),
                   f"{what}: the mail checks go on (both accounts checked after the broker's error, no error)")
            if password:
                ok, text = page_shows(port, detail)
                expect(ok, f"{what}: the page shows it as an error: {text!r}")
            uart += q.lines
            q.stop()
            q = None
        log(f"TLS pool peak of a POP3 check: {pool_with} B with the broker's session open, "
            f"{pool_without} B without: the broker holds {pool_with - pool_without} B")

        with open(b.log, errors="replace") as f:
            shown = "\n".join(uart + said) + json.dumps(st) + f.read()
        expect(not any(s in shown for s in secrets),
               "no password in any UART line, status output, test line or the broker's log")
        log("PASS")
        return 0
    finally:
        if q:
            q.stop()
        if sub:
            sub.close()
        if b:
            b.stop()
        fx.stop()


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    elf, work, host_tests = sys.argv[1:]
    tool = os.path.join(host_tests, "ha_tool")
    if not os.access(tool, os.X_OK):
        print(f"{tool} missing: build the host preset first (it runs biff_ha for the expected messages)")
        return 1

    def on_term(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    t0 = time.monotonic()
    try:
        return run(elf, work, tool)
    except (Fail, FixtureError) as e:
        log(f"FAIL: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 1
    finally:
        log(f"{time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
