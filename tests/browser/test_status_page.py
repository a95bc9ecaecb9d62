#!/usr/bin/env python3
"""The status page in headless Chromium: numbers match /status.json, it reads well on a phone-sized
window, Acknowledge clears "new", and no secret is on the page. Saves screenshots as artifacts."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mailfix import MailFixture  # noqa: E402
from daemonfix import Daemon  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

WORK = os.environ.get("BIFF_WORK", os.path.join(HERE, "..", "..", "build", "host", "fixtures"))
ARTIFACTS = os.environ.get("BIFF_ARTIFACTS", os.path.join(HERE, "..", "..", "build", "host", "artifacts"))


def browser(width, height, js=True, phone=False):
    opts = webdriver.ChromeOptions()
    if phone:  # desktop windows cannot be narrower than ~500 px; emulate a phone's viewport
        opts.add_experimental_option("mobileEmulation",
                                     {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}})
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--window-size={width},{height}", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    if not js:
        opts.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


class StatusPage(unittest.TestCase):
    def test_page_matches_json_and_acknowledge(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        with MailFixture(dir=os.path.join(WORK, "browser"), users=2, messages=5, unseen=2) as fx:
            accounts = [("home", f"imaps://user1@localhost:{fx.ports['imaps']}/INBOX", {"idle": "1"}),
                        ("work", f"pop3s://user2@localhost:{fx.ports['pop3s']}", {}),
                        ("<b>typo</b>", f"imaps://nobody@localhost:{fx.ports['imaps']}/INBOX", {})]
            # "<b>typo</b>" is no valid section name: the config rejects it; use a harmless one.
            accounts[2] = ("broken", f"imaps://user2@localhost:{fx.ports['imaps']}/INBOX", {})
            d = Daemon(os.path.join(fx.dir, "daemon"), fx, accounts, secrets={"broken": "wrong-secret-42"})
            with d:
                d.wait_for(lambda s: all(a["last_check"] for a in s["accounts"]), 10, "first checks")
                fx.deliver("user1", subject="for the browser")
                d.wait_for(lambda s: s["accounts"][0]["new"] == 1, 3, "new mail")
                drv = browser(412, 915, phone=True)
                try:
                    drv.get(d.url("/"))
                    st = d.status()
                    text = drv.find_element(By.TAG_NAME, "body").text
                    for a in st["accounts"]:
                        self.assertIn(a["name"], text)
                    # The per-account numbers on the page are the ones /status.json reports.
                    for a in st["accounts"]:
                        row = drv.find_element(By.CSS_SELECTOR, f'[data-account="{a["name"]}"]')
                        self.assertIn(str(a["unseen"]), row.text)
                    self.assertEqual(drv.find_element(By.ID, "unseen").text, str(st["unseen"]))
                    self.assertIn("auth_failed", text.replace(" ", "_").lower() + " " + drv.page_source)
                    self.assertNotIn("wrong-secret-42", drv.page_source)
                    self.assertNotIn(fx.users["user1"], drv.page_source)
                    # Nothing wider than the phone screen.
                    width = drv.execute_script("return document.documentElement.scrollWidth")
                    self.assertEqual(drv.execute_script("return window.innerWidth"), 412)
                    self.assertLessEqual(width, 412)
                    drv.save_screenshot(os.path.join(ARTIFACTS, "status-page-phone.png"))
                    drv.find_element(By.CSS_SELECTOR, "form[action='/ack'] button, form[action='/ack'] input[type=submit]").click()
                    d.wait_for(lambda s: s["new"] == 0, 3, "acknowledge from the browser")
                    drv.get(d.url("/"))
                    drv.save_screenshot(os.path.join(ARTIFACTS, "status-page-after-ack.png"))
                finally:
                    drv.quit()
                # Without JavaScript the page is the same page (it uses none) and still readable.
                drv = browser(1024, 768, js=False)
                try:
                    drv.get(d.url("/"))
                    self.assertIn("home", drv.find_element(By.TAG_NAME, "body").text)
                    drv.save_screenshot(os.path.join(ARTIFACTS, "status-page-desktop.png"))
                finally:
                    drv.quit()


if __name__ == "__main__":
    unittest.main(verbosity=2)
