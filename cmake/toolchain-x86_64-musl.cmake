# x86-64 with musl (Debian's musl-tools), run natively: the router build measured on this machine.
set(BIFF_MUSL_TRIPLET x86_64-linux-musl)
set(BIFF_MUSL_PROCESSOR x86_64)
set(BIFF_MUSL_FLAGS "")
set(BIFF_MUSL_QEMU "")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-musl.cmake)
