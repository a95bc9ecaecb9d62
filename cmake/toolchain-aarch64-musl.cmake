# ARMv8-A, 64-bit (MT7622/MT7981 routers, Raspberry Pi class), musl.
set(BIFF_MUSL_TRIPLET aarch64-linux-musl)
set(BIFF_MUSL_PROCESSOR aarch64)
# Debian's gcc calls libgcc's outline atomics, whose start-up code needs glibc's __getauxval.
set(BIFF_MUSL_FLAGS "-mno-outline-atomics")
set(BIFF_MUSL_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-musl.cmake)
