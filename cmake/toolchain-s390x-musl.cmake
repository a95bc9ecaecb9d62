# IBM Z, 64-bit big-endian, musl: not a router, but the one big-endian musl target Debian ships
# with a cross compiler; it shows the flash image and the wire code are byte-order clean.
set(BIFF_MUSL_TRIPLET s390x-linux-musl)
set(BIFF_MUSL_PROCESSOR s390x)
set(BIFF_MUSL_FLAGS "")
set(BIFF_MUSL_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-musl.cmake)
