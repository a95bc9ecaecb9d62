# Warnings are errors everywhere in project code; third-party code gets its own flags.
add_library(biff_warnings INTERFACE)
target_compile_options(biff_warnings INTERFACE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
                       -Wmissing-prototypes -Wformat=2 -Wvla)

# ThreadSanitizer (preset host-tsan): the daemon's web server thread against its main loop.
if(BIFF_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
# gcov counters for the project's code only (every project target links biff_warnings); mbedTLS
# and lwIP stay uninstrumented. Every link needs libgcov.
if(BIFF_COVERAGE)
  target_compile_options(biff_warnings INTERFACE --coverage)
  add_link_options(--coverage)
endif()

if(BIFF_SANITIZE OR BIFF_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
# Coverage instrumentation for the code under test too, not only the harness: without it
# libFuzzer sees no edges in the parsers and fuzzes blind.
if(BIFF_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
