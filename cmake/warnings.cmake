# Warnings are errors everywhere in project code; third-party code gets its own flags.
add_library(biff_warnings INTERFACE)
target_compile_options(biff_warnings INTERFACE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
                       -Wmissing-prototypes -Wformat=2 -Wvla)

if(BIFF_SANITIZE OR BIFF_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
