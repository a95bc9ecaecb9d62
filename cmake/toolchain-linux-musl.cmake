# Linux + musl from Debian's cross compilers and musl-dev:<arch>: the wrapper <triplet>-gcc runs
# <arch>-linux-gnu-gcc with musl's specs file. Included by toolchain-<arch>-musl.cmake, which set
# BIFF_MUSL_TRIPLET, BIFF_MUSL_PROCESSOR, BIFF_MUSL_FLAGS and BIFF_MUSL_QEMU.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${BIFF_MUSL_PROCESSOR})
set(CMAKE_C_COMPILER ${BIFF_MUSL_TRIPLET}-gcc)
string(REPLACE "-musl" "-gnu" biff_gnu_triplet ${BIFF_MUSL_TRIPLET})
find_program(BIFF_MUSL_STRIP NAMES ${biff_gnu_triplet}-strip strip)
set(CMAKE_STRIP ${BIFF_MUSL_STRIP} CACHE FILEPATH "strip for the target")
# Size first, as for a router's flash; sections per function so the linker drops what is unused.
set(CMAKE_C_FLAGS_INIT "${BIFF_MUSL_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections -Wl,--as-needed")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,--gc-sections -Wl,--as-needed")
# Debian's glibc multiarch libraries of the same CPU are not musl's: look only in musl's tree and
# the prefixes given (a staged mbedTLS).
set(CMAKE_FIND_ROOT_PATH /usr/lib/${BIFF_MUSL_TRIPLET} /usr/include/${BIFF_MUSL_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_IGNORE_PREFIX_PATH /usr /usr/local)
if(BIFF_MUSL_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${BIFF_MUSL_QEMU})
endif()
