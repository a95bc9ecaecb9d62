# ARMv8-A, 64-bit (MT7622/MT7981 routers, Raspberry Pi class), musl.
set(BIFF_MUSL_TRIPLET aarch64-linux-musl)
set(BIFF_MUSL_PROCESSOR aarch64)
set(BIFF_MUSL_FLAGS "")
set(BIFF_MUSL_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-musl.cmake)
