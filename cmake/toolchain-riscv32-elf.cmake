# RV32IMAC (QEMU virt and parts like the ESP32-C3's RV32IMC core) with Debian's
# gcc-riscv64-unknown-elf (multilib: rv32imac/ilp32) and picolibc-riscv64-unknown-elf.
# picolibc, not newlib: Debian 12 ships no newlib for riscv64-unknown-elf (the gcc package has
# none, and there is no libnewlib-riscv64-unknown-elf), while picolibc has an rv32imac/ilp32
# build that links without syscall stubs (its stdio needs no _write/_sbrk; see board.c).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_AR riscv64-unknown-elf-ar)
set(CMAKE_RANLIB riscv64-unknown-elf-ranlib)
set(CMAKE_SIZE riscv64-unknown-elf-size)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(BIFF_MCU_FLAGS "-march=rv32imac -mabi=ilp32 -mcmodel=medlow -msave-restore -ffunction-sections -fdata-sections")
# The link line repeats the C flags, and the specs file must be read once.
set(CMAKE_C_FLAGS_INIT "${BIFF_MCU_FLAGS} --specs=picolibc.specs")
set(CMAKE_C_FLAGS_MINSIZEREL_INIT "-Os -DNDEBUG")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${BIFF_MCU_FLAGS} -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
