# MIPS32 24Kc class, little-endian (MT7621 and other ramips routers), musl. Debian's musl is the
# hard-float ABI (ld-musl-mipsel.so.1); OpenWrt's ramips images are soft-float, so a binary for
# them comes from the OpenWrt SDK (firmware/router/openwrt); this one is for tests under qemu.
set(BIFF_MUSL_TRIPLET mipsel-linux-musl)
set(BIFF_MUSL_PROCESSOR mipsel)
set(BIFF_MUSL_FLAGS "-march=24kc -mtune=24kc")
set(BIFF_MUSL_QEMU qemu-mipsel)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-musl.cmake)
