#!/usr/bin/env python3
"""The OpenWrt package (firmware/router/openwrt) without the OpenWrt SDK, which cannot be fetched
here: the Makefile's structure; its install section run by GNU make with small stand-ins for
rules.mk/package.mk/cmake.mk into a scratch root; the init script through sh -n and shellcheck
and, against a stand-in for procd's shell API that records the calls (procd_standin.sh, not
procd), start_service and service_triggers; then the daemon started with the recorded command
line and the installed default config (paths moved into the scratch root)."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PKG = os.path.join(ROOT, "firmware", "router", "openwrt")
BIN = os.path.abspath(os.path.join(os.environ["BIFF_BIN"], "tinybiff"))
WORK = os.path.abspath(os.path.join(os.environ["BIFF_WORK"], "openwrt-package"))

STUB_RULES = """INCLUDE_DIR:=$(TOPDIR)/include
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_CONF:=install -m0600
INSTALL_DATA:=install -m0644
CP:=cp -fpR
"""
STUB_PACKAGE = """PKG_BUILD_DIR?=$(TOPDIR)/build_dir/$(PKG_NAME)-$(PKG_VERSION)
define BuildPackage
install-$(1):
	$$(call Package/$(1)/install,$$(DESTDIR))
prepare-$(1):
	$$(Build/Prepare)
endef
"""


def sections(text):
    """define NAME ... endef blocks of a make file, by name."""
    return dict(re.findall(r"^define (\S+)\n(.*?)^endef$", text, re.S | re.M))


class OpenWrtPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        with open(os.path.join(PKG, "Makefile")) as f:
            cls.mk = f.read()

    def test_makefile_structure(self):
        lines = [ln for ln in self.mk.splitlines() if ln.strip() and not ln.startswith("#")]
        self.assertEqual(lines[0], "include $(TOPDIR)/rules.mk")
        self.assertEqual(lines[-1], "$(eval $(call BuildPackage,tinybiff))")
        order = [self.mk.index(s) for s in ("include $(TOPDIR)/rules.mk", "PKG_NAME:=tinybiff", "PKG_VERSION:=",
                                             "PKG_RELEASE:=", "PKG_LICENSE:=", "include $(INCLUDE_DIR)/package.mk",
                                             "include $(INCLUDE_DIR)/cmake.mk")]
        self.assertEqual(order, sorted(order), "rules.mk, PKG_* fields, then package.mk and cmake.mk")
        self.assertRegex(self.mk, r"(?m)^PKG_VERSION:=\d+\.\d+\.\d+$")
        self.assertRegex(self.mk, r"(?m)^PKG_RELEASE:=\d+$")
        # An SPDX identifier (or an SPDX LicenseRef- until the repository has a license).
        self.assertRegex(self.mk, r"(?m)^PKG_LICENSE:=(LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.+-]+)$")
        sec = sections(self.mk)
        for name in ("Package/tinybiff", "Package/tinybiff/description", "Package/tinybiff/conffiles",
                     "Package/tinybiff/install", "Build/Prepare"):
            self.assertIn(name, sec)
        self.assertRegex(sec["Package/tinybiff"], r"(?m)^\s+DEPENDS:=\+libmbedtls\b")
        for key in ("SECTION", "CATEGORY", "TITLE"):
            self.assertRegex(sec["Package/tinybiff"], rf"(?m)^\s+{key}:=\S")
        self.assertEqual(sec["Package/tinybiff/conffiles"].split(), ["/etc/config/tinybiff", "/etc/tinybiff/secrets"])
        for body in (sec["Package/tinybiff/install"], sec["Build/Prepare"]):
            for ln in body.splitlines():
                self.assertTrue(ln.startswith("\t"), f"recipe line without a tab: {ln!r}")
        # The package builds what the router preset builds and tests.
        with open(os.path.join(ROOT, "CMakePresets.json")) as f:
            preset = next(p for p in json.load(f)["configurePresets"] if p["name"] == "router")
        opts = dict(re.findall(r"-D(\w+)=(\S+)", self.mk))
        for k in ("BIFF_ROUTER", "BIFF_WITH_LWIP", "BIFF_WITH_PAGE", "BIFF_MBEDTLS"):
            self.assertEqual(opts[k], preset["cacheVariables"][k], k)

    def install(self):
        """Run the Makefile's install section (GNU make, stand-in includes) into a scratch root."""
        top = os.path.join(WORK, "top")
        os.makedirs(os.path.join(top, "include"), exist_ok=True)
        for name, text in (("rules.mk", STUB_RULES), ("include/package.mk", STUB_PACKAGE), ("include/cmake.mk", "")):
            with open(os.path.join(top, name), "w") as f:
                f.write(text)
        build = os.path.join(WORK, "build")
        os.makedirs(os.path.join(build, "openwrt-build", "bin"), exist_ok=True)
        shutil.copy(BIN, os.path.join(build, "openwrt-build", "bin", "tinybiff"))
        root = os.path.join(WORK, "root")
        shutil.rmtree(root, ignore_errors=True)
        r = subprocess.run(["make", "-s", "-C", PKG, f"TOPDIR={top}", f"PKG_BUILD_DIR={build}", f"DESTDIR={root}",
                            "install-tinybiff"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return root, build

    def test_install_and_prepare(self):
        root, build = self.install()
        mode = lambda p: stat.S_IMODE(os.stat(os.path.join(root, p)).st_mode)  # noqa: E731
        self.assertEqual(mode("usr/bin/tinybiff"), 0o755)
        self.assertEqual(mode("etc/init.d/tinybiff"), 0o755)
        self.assertEqual(mode("etc/config/tinybiff"), 0o600)
        self.assertEqual(mode("etc/tinybiff/secrets"), 0o600)
        top = os.path.join(WORK, "top")
        prep = os.path.join(WORK, "prepared")
        # DL_DIR: where the SDK keeps downloads; here the tarball scripts/fetch-deps verified.
        dl = os.path.join(ROOT, ".deps", "dl")
        r = subprocess.run(["make", "-s", "-C", PKG, f"TOPDIR={top}", f"PKG_BUILD_DIR={prep}", f"DL_DIR={dl}",
                            "prepare-tinybiff"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        for p in ("CMakeLists.txt", "components/tls/src/tls.c", "firmware/router/src/ctl.c",
                  "lwip-2.2.1/src/apps/mqtt/mqtt.c"):
            self.assertTrue(os.path.exists(os.path.join(prep, p)), p)
        # The download the package declares is the one the project pins.
        with open(os.path.join(ROOT, "cmake", "deps.lock")) as f:
            lock = next(ln.split() for ln in f if ln.startswith("lwip "))
        self.assertIn(f"LWIP_SOURCE:={lock[3]}", self.mk)
        self.assertIn(f"HASH:={lock[4]}", self.mk)
        self.assertIn(f"LWIP_TREE:={lock[5]}", self.mk)

    def test_init_script_lint(self):
        init = os.path.join(PKG, "files", "tinybiff.init")
        r = subprocess.run(["sh", "-n", init], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # OpenWrt's ash has `local`, as dash has: shellcheck's dash dialect is the nearest.
        r = subprocess.run(["shellcheck", "-s", "dash", init, os.path.join(HERE, "procd_standin.sh")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(init) as f:
            text = f.read()
        self.assertTrue(text.startswith("#!/bin/sh /etc/rc.common\n"))
        self.assertRegex(text, r"(?m)^USE_PROCD=1$")

    def run_init(self, uci_text, *functions):
        """Source the init script with the procd stand-in and run functions; the recorded calls."""
        uci = os.path.join(WORK, "tinybiff.uci")
        log = os.path.join(WORK, "procd.log")
        with open(uci, "w") as f:
            f.write(uci_text)
        open(log, "w").close()
        script = ". \"$STANDIN\"; . \"$INIT\"; " + "; ".join(functions)
        r = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, STANDIN=os.path.join(HERE, "procd_standin.sh"),
                                    INIT=os.path.join(PKG, "files", "tinybiff.init"),
                                    PROCD_STANDIN_UCI=uci, PROCD_STANDIN_LOG=log))
        with open(log) as f:
            return r, [line.rstrip("\n").split("\t") for line in f]

    def test_start_service_and_triggers_against_procd_standin(self):
        root, _ = self.install()
        scratch = os.path.join(WORK, "run")
        shutil.rmtree(scratch, ignore_errors=True)
        # The installed defaults, with the run-time paths moved into the scratch directory.
        with open(os.path.join(root, "etc", "config", "tinybiff")) as f:
            config = f.read().replace("/var/run/tinybiff", os.path.join(scratch, "run")) \
                             .replace("/etc/tinybiff", os.path.join(scratch, "etc"))
        r, calls = self.run_init(config, "start_service", "service_triggers")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [c[0] for c in calls]
        self.assertEqual(names[0], "procd_open_instance")
        self.assertLess(names.index("procd_open_instance"), names.index("procd_close_instance"))
        params = {c[1]: c[2:] for c in calls if c[0] == "procd_set_param"}
        self.assertEqual(params["command"], ["/usr/bin/tinybiff", "run", "-c", "/etc/config/tinybiff"])
        self.assertEqual(len(params["respawn"]), 3)
        self.assertTrue(all(x.isdigit() for x in params["respawn"]), params["respawn"])
        self.assertEqual(params["reload_signal"], ["HUP"])
        self.assertIn("/etc/config/tinybiff", params["file"])
        self.assertIn(["procd_add_reload_trigger", "tinybiff"], calls)
        self.assertIn(["procd_add_validation", "validate_tinybiff_section"], calls)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(scratch, "run")).st_mode), 0o700)

        # The recorded command line, with the installed program and config, runs the daemon.
        os.makedirs(os.path.join(scratch, "etc"), exist_ok=True)
        cfg = os.path.join(scratch, "tinybiff.config")
        with open(cfg, "w") as f:
            f.write(config)
        argv = [{"/usr/bin/tinybiff": os.path.join(root, "usr", "bin", "tinybiff"),
                 "/etc/config/tinybiff": cfg}.get(a, a) for a in params["command"]]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            status_path = os.path.join(scratch, "run", "status.json")
            end = time.monotonic() + 10
            while not os.path.exists(status_path) and proc.poll() is None and time.monotonic() < end:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(status_path), "the daemon wrote no status JSON")
            st = subprocess.run([argv[0], "status", "-c", cfg], capture_output=True, text=True, timeout=10)
            self.assertEqual(st.returncode, 0, st.stderr)
            self.assertEqual(json.loads(st.stdout)["accounts"], [])
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, out)
        self.assertNotIn("error", out.lower())

    def test_invalid_main_option_is_not_started(self):
        r, calls = self.run_init("config tinybiff 'main'\n\toption interval 'soon'\n", "start_service")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid options in section 'main'", r.stderr)
        self.assertNotIn("procd_open_instance", [c[0] for c in calls])


if __name__ == "__main__":
    unittest.main(verbosity=2)
