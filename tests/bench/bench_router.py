#!/usr/bin/env python3
"""Benchmark: the router figures. Prints numbers; asserts nothing.

1. Stripped size of the daemon (one binary: `run`, `check`, `ack`, `status`) for mipsel and
   aarch64 (and x86-64 musl), linked against the system mbedTLS (the pinned 3.6 staged as shared
   libraries by scripts/stage-mbedtls, as a router has libmbedtls.so) or the bundled one (static,
   the project's trimmed config); and on x86-64 glibc with and without the built-in page.
2. Peak RSS and CPU per check with 1, 10 and 100 accounts (tests/bench/bench_daemon.py's runs:
   IMAPS and POP3S half and half, polling, max_parallel 8) for the x86-64 musl router builds,
   run natively, and the glibc build with the page, next to a shell loop of curl (curl-in-cron)
   in the same run against the same Dovecot.

Each build is configured in build/bench-router/<name> (ccache makes repeats cheap).
usage: tests/bench/bench_router.py [--sizes 1,10,100] [--skip-rss]
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
import bench_daemon as bd  # noqa: E402
from mailfix import MailFixture  # noqa: E402

ROUTER = ["-DBIFF_ROUTER=ON", "-DBIFF_WITH_LWIP=OFF"]
SYSTEM = ["-DBIFF_MBEDTLS=system", "-DMBEDTLS_PREFIX=staged"]
NOPAGE = ["-DBIFF_WITH_PAGE=OFF"]
# name, toolchain (None: the host's gcc, glibc), strip, CMake options
BUILDS = [
    ("mipsel-system", "mipsel", "mipsel-linux-gnu-strip", ROUTER + NOPAGE + SYSTEM),
    ("mipsel-bundled", "mipsel", "mipsel-linux-gnu-strip", ROUTER + NOPAGE),
    ("aarch64-system", "aarch64", "aarch64-linux-gnu-strip", ROUTER + NOPAGE + SYSTEM),
    ("aarch64-bundled", "aarch64", "aarch64-linux-gnu-strip", ROUTER + NOPAGE),
    ("x86_64-musl-system", "x86_64", "strip", ROUTER + NOPAGE + SYSTEM),
    ("x86_64-musl-bundled", "x86_64", "strip", ROUTER + NOPAGE),
    ("x86_64-glibc-bundled", None, "strip", ROUTER + NOPAGE),
    ("x86_64-glibc-bundled-page", None, "strip", ROUTER + ["-DBIFF_WITH_PAGE=ON"]),
]


def build(name, arch, opts):
    bdir = os.path.join(ROOT, "build", "bench-router", name)
    cmd = ["cmake", "-S", ROOT, "-B", bdir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=MinSizeRel"] + opts
    if arch:
        cmd.append(f"-DCMAKE_TOOLCHAIN_FILE={ROOT}/cmake/toolchain-{arch}-musl.cmake")
    env = dict(os.environ, CMAKE_C_COMPILER_LAUNCHER="ccache")
    for c in (cmd, ["cmake", "--build", bdir, "-j2", "--target", "tinybiff"]):
        r = subprocess.run(c, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise SystemExit(f"{name}: {' '.join(c)} failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return os.path.join(bdir, "bin", "tinybiff")


def stripped(path, strip):
    out = path + ".stripped"
    subprocess.run([strip, "-o", out, path], check=True)
    return os.path.getsize(out)


def staged_libs(arch):
    r = subprocess.run([os.path.join(ROOT, "scripts", "stage-mbedtls"),
                        os.path.join(ROOT, "cmake", f"toolchain-{arch}-musl.cmake")],
                       capture_output=True, text=True, check=True)
    lib = os.path.join(r.stdout.strip(), "lib")
    return [os.path.join(lib, f"lib{n}.so.{v}") for n, v in (("mbedtls", "3.6.6"), ("mbedx509", "3.6.6"),
                                                              ("mbedcrypto", "3.6.6"))]


def kb(n):
    return f"{n / 1024:,.1f} KB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--skip-rss", action="store_true")
    a = ap.parse_args()
    t0 = time.monotonic()
    bins, sizes = {}, []
    for name, arch, strip, opts in BUILDS:
        bins[name] = build(name, arch, opts)
        sizes.append((name, stripped(bins[name], strip)))
    libs = {}
    for arch, strip in (("mipsel", "mipsel-linux-gnu-strip"), ("aarch64", "aarch64-linux-gnu-strip")):
        libs[arch] = sum(stripped(p, strip) for p in staged_libs(arch))

    print("Stripped tinybiff (daemon + CLI in one binary), -Os, gc-sections, musl unless noted")
    print(f"{'build':<28} {'bytes':>9} {'':>12}")
    for name, n in sizes:
        print(f"{name:<28} {n:>9,} {kb(n):>12}")
    for arch, n in libs.items():
        print(f"{'  ' + arch + ' libmbedtls+x509+crypto .so':<28} {n:>9,} {kb(n):>12}  (the system mbedTLS itself, default config)")
    print("system = linked against the shared mbedTLS 3.6.6 (staged, default config); bundled = the pinned")
    print("mbedTLS linked in statically with the project's config; page = libmicrohttpd status page (glibc only:")
    print("Debian has no musl libmicrohttpd)")
    if a.skip_rss:
        return

    runs = [("x86_64 musl, system mbedTLS, no page", bins["x86_64-musl-system"], True),
            ("x86_64 musl, bundled mbedTLS, no page", bins["x86_64-musl-bundled"], True),
            ("x86_64 glibc, bundled mbedTLS, page", bins["x86_64-glibc-bundled-page"], False)]
    counts = [int(x) for x in a.sizes.split(",")]
    work = os.path.join(ROOT, "build", "bench-router", "work")
    users = min(50, max(counts))
    table = []
    with MailFixture(dir=os.path.join(work, "fx"), users=users, messages=20, unseen=4) as fx:
        single = bd.one_curl_rss(fx)
        for n in counts:
            accounts = bd.plan(n, users)
            args = argparse.Namespace(curl_cap=100)
            cu = bd.bench_curl(args, fx, accounts, work)
            for label, binary, no_page in runs:
                args = argparse.Namespace(bin=binary, no_page=no_page, curl_cap=100)
                d = bd.bench_daemon(args, fx, accounts, 8, os.path.join(work, f"{n}-{os.path.basename(os.path.dirname(os.path.dirname(binary)))}"))
                table.append((n, label, d, cu))
                print(f"  done: {n} accounts, {label}", file=sys.stderr)
    print()
    print("Peak RSS and CPU per check (steady state: interval 1 s, TLS sessions resumed; max_parallel 8)")
    print(f"{'accounts':>8}  {'build':<38} {'peak RSS':>9} {'CPU/check':>9} || {'curl loop CPU/check':>19} {'curl RSS':>8}")
    for n, label, d, cu in table:
        per = d["ss_cpu_round"] / n
        ccpu = cu["cpu"] / n if cu else float("nan")
        crss = f"{cu['maxrss_kb'] / 1024:.1f} MB" if cu and cu["maxrss_kb"] else "n/a"
        print(f"{n:>8}  {label:<38} {d['hwm_kb'] / 1024:>6.2f} MiB {per * 1000:>7.1f} ms || {ccpu * 1000:>17.1f} ms {crss:>8}")
    if single:
        print(f"one curl check (/usr/bin/time -f %M): IMAPS {single['imaps'] / 1024:.1f} MB, POP3S {single['pop3s'] / 1024:.1f} MB")
    print("peak RSS = VmHWM (shared library pages that were touched count too); CPU/check = whole daemon")
    print("process over the steady window / checks started; curl = bash loop + one curl per check, no resumption")
    print(f"total benchmark time {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
