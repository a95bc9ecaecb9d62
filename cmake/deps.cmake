# mbedTLS and lwIP: the pinned trees from scripts/fetch-deps, or the user's own
# (-DMBEDTLS_DIR=... -DLWIP_DIR=...). Both are compiled here with the project's own config
# headers, for whichever board is being built.

set(MBEDTLS_DIR "" CACHE PATH "mbedTLS 3.6 source tree (empty: fetch the pinned one)")
set(LWIP_DIR "" CACHE PATH "lwIP 2.2 source tree (empty: fetch the pinned one)")

# Debian's python3 is the one scripts/bootstrap installs modules for (python3-selenium), even
# when another python3 comes first in PATH.
if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 REQUIRED COMPONENTS Interpreter)

function(biff_fetch_dep name out)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/fetch-deps --print-dir ${name}
    RESULT_VARIABLE rc OUTPUT_VARIABLE dir ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    string(STRIP "${err}" err)
    string(TOUPPER ${name} up)
    message(FATAL_ERROR "${err}\n(fix the network or apt sources, or configure with -D${up}_DIR=/path/to/${name})")
  endif()
  set(${out} ${dir} PARENT_SCOPE)
endfunction()

file(STRINGS ${CMAKE_SOURCE_DIR}/cmake/deps.lock lock_mbedtls REGEX "^mbedtls ")
string(REGEX MATCH "mbedtls-([0-9.]+)" _ "${lock_mbedtls}")
set(BIFF_PINNED_MBEDTLS_VERSION ${CMAKE_MATCH_1})
file(STRINGS ${CMAKE_SOURCE_DIR}/cmake/deps.lock lock_lwip REGEX "^lwip ")
string(REGEX MATCH "lwip-([0-9.]+)" _ "${lock_lwip}")
set(BIFF_PINNED_LWIP_VERSION ${CMAKE_MATCH_1})

# ---- mbedTLS, system: an installed mbedTLS 3.6 as a router has it (OpenWrt's libmbedtls is a
# shared library with its own configuration). MBEDTLS_PREFIX or CMAKE_PREFIX_PATH points at it.
if(BIFF_MBEDTLS STREQUAL "system")
  set(MBEDTLS_PREFIX "" CACHE STRING "Prefix of the installed mbedTLS (include/, lib/); 'staged': scripts/stage-mbedtls")
  set(hints)
  set(sys_prefix ${MBEDTLS_PREFIX})
  if(MBEDTLS_PREFIX STREQUAL "staged")
    # The pinned release built as shared libraries with its default config (see the script).
    execute_process(COMMAND ${CMAKE_SOURCE_DIR}/scripts/stage-mbedtls ${CMAKE_TOOLCHAIN_FILE}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE sys_prefix OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "scripts/stage-mbedtls failed (see above)")
    endif()
  endif()
  # Found once and cached; a staged prefix that was removed (and rebuilt) is looked up again.
  foreach(v BIFF_SYS_MBEDTLS_INCLUDE BIFF_SYS_mbedtls BIFF_SYS_mbedx509 BIFF_SYS_mbedcrypto)
    if(${v} AND NOT EXISTS "${${v}}")
      unset(${v} CACHE)
    endif()
  endforeach()
  if(sys_prefix)
    set(hints HINTS ${sys_prefix}/include ${sys_prefix}/lib NO_DEFAULT_PATH)
  endif()
  find_path(BIFF_SYS_MBEDTLS_INCLUDE mbedtls/build_info.h ${hints})
  foreach(lib mbedtls mbedx509 mbedcrypto)
    find_library(BIFF_SYS_${lib} ${lib} ${hints})
    if(NOT BIFF_SYS_${lib})
      message(FATAL_ERROR "BIFF_MBEDTLS=system: lib${lib} not found (set MBEDTLS_PREFIX; scripts/stage-mbedtls builds one)")
    endif()
  endforeach()
  if(NOT BIFF_SYS_MBEDTLS_INCLUDE)
    message(FATAL_ERROR "BIFF_MBEDTLS=system: mbedtls/build_info.h (mbedTLS 3.x) not found; "
                        "Debian 12's libmbedtls-dev is 2.28 (set MBEDTLS_PREFIX; scripts/stage-mbedtls builds one)")
  endif()
  file(STRINGS ${BIFF_SYS_MBEDTLS_INCLUDE}/mbedtls/build_info.h v REGEX "define MBEDTLS_VERSION_STRING ")
  string(REGEX MATCH "\"([0-9.]+)\"" _ "${v}")
  set(BIFF_SYS_MBEDTLS_VERSION ${CMAKE_MATCH_1})
  if(BIFF_SYS_MBEDTLS_VERSION VERSION_LESS 3.6)
    message(FATAL_ERROR "BIFF_MBEDTLS=system: mbedTLS ${BIFF_SYS_MBEDTLS_VERSION} in ${BIFF_SYS_MBEDTLS_INCLUDE}; 3.6 or later needed")
  endif()
  message(STATUS "mbedTLS: system ${BIFF_SYS_MBEDTLS_VERSION} (${BIFF_SYS_mbedtls})")
  add_library(tb_mbedtls INTERFACE)
  target_include_directories(tb_mbedtls SYSTEM INTERFACE ${BIFF_SYS_MBEDTLS_INCLUDE})
  target_link_libraries(tb_mbedtls INTERFACE ${BIFF_SYS_mbedtls} ${BIFF_SYS_mbedx509} ${BIFF_SYS_mbedcrypto})
elseif(BIFF_MBEDTLS STREQUAL "bundled")
  if(NOT MBEDTLS_DIR)
    biff_fetch_dep(mbedtls MBEDTLS_DIR_RESOLVED)
  else()
    set(MBEDTLS_DIR_RESOLVED ${MBEDTLS_DIR})
  endif()
  if(NOT EXISTS ${MBEDTLS_DIR_RESOLVED}/include/mbedtls/build_info.h)
    message(FATAL_ERROR "MBEDTLS_DIR=${MBEDTLS_DIR_RESOLVED} is not an mbedTLS 3.x tree")
  endif()
  message(STATUS "mbedTLS: ${MBEDTLS_DIR_RESOLVED}")
else()
  message(FATAL_ERROR "BIFF_MBEDTLS is bundled or system, not '${BIFF_MBEDTLS}'")
endif()

# Third-party code: its own warnings, never -Werror; sanitizers still apply (global flags).
set(biff_third_party_flags -w)

# ---- mbedTLS, bundled: one static library, gc-sections and the archive drop what a build does not use.
if(BIFF_MBEDTLS STREQUAL "bundled")
  file(GLOB tb_mbedtls_srcs ${MBEDTLS_DIR_RESOLVED}/library/*.c)
  add_library(tb_mbedtls STATIC ${tb_mbedtls_srcs})
  target_include_directories(tb_mbedtls SYSTEM PUBLIC
    ${MBEDTLS_DIR_RESOLVED}/include
    ${CMAKE_SOURCE_DIR}/components/tls/config)
  # The board's biff_mbedtls_board.h (and BIFF_TLS_IN_RECORD) come with its settings.
  target_link_libraries(tb_mbedtls PUBLIC biff_settings)
  target_include_directories(tb_mbedtls PRIVATE ${MBEDTLS_DIR_RESOLVED}/library)
  target_compile_definitions(tb_mbedtls PUBLIC
    MBEDTLS_CONFIG_FILE="biff_mbedtls_config.h"
    MBEDTLS_USER_CONFIG_FILE="biff_mbedtls_board.h")
  target_compile_options(tb_mbedtls PRIVATE ${biff_third_party_flags})
endif()
add_library(tb_mbedcrypto ALIAS tb_mbedtls)

# ---- lwIP: core + IPv4/IPv6 + netif helpers + the apps the products use. Host builds without
# lwIP (BIFF_WITH_LWIP=OFF: the router presets) still get what lwIP's MQTT client needs, the
# core without IPv6 or netifs and with tiny pools (board/host's lwipopts.h, BIFF_LWIP_MQTT_ONLY);
# nothing reaches lwIP's TCP, and the linker's --gc-sections keeps only what the client calls.
if(BIFF_WITH_LWIP OR BIFF_HOST)
  if(NOT LWIP_DIR)
    biff_fetch_dep(lwip LWIP_DIR_RESOLVED)
  else()
    set(LWIP_DIR_RESOLVED ${LWIP_DIR})
  endif()
  if(NOT EXISTS ${LWIP_DIR_RESOLVED}/src/include/lwip/init.h)
    message(FATAL_ERROR "LWIP_DIR=${LWIP_DIR_RESOLVED} is not an lwIP tree")
  endif()
  message(STATUS "lwIP: ${LWIP_DIR_RESOLVED}")
  set(LWIP_DIR ${LWIP_DIR_RESOLVED})
  include(${LWIP_DIR_RESOLVED}/src/Filelists.cmake)
  if(BIFF_WITH_LWIP)
    add_library(tb_lwip STATIC
      ${lwipcore_SRCS} ${lwipcore4_SRCS} ${lwipcore6_SRCS} ${lwipnetif_SRCS}
      ${lwipsntp_SRCS} ${lwiphttp_SRCS})
  else()
    # Without lwIP's TCP behind altcp (components/mqtt/src/lwip_mqtt_only.c says why).
    set(mqtt_only_SRCS ${lwipcore_SRCS} ${lwipcore4_SRCS})
    list(FILTER mqtt_only_SRCS EXCLUDE REGEX "altcp_tcp\\.c$")
    add_library(tb_lwip STATIC ${mqtt_only_SRCS})
    target_compile_definitions(tb_lwip PUBLIC BIFF_LWIP_MQTT_ONLY=1)
  endif()
  target_include_directories(tb_lwip SYSTEM PUBLIC
    ${LWIP_DIR_RESOLVED}/src/include)
  target_compile_options(tb_lwip PRIVATE ${biff_third_party_flags})
  # The board's lwipopts.h and arch/cc.h sit beside its settings header. The MCU boards define
  # sys_now themselves; Linux has an OS port (sys_arch), compiled in so the stack links on its own.
  target_link_libraries(tb_lwip PUBLIC biff_settings)
  if(BIFF_HOST)
    target_sources(tb_lwip PRIVATE ${CMAKE_SOURCE_DIR}/board/host/src/lwip_port.c)
    target_compile_definitions(tb_lwip PRIVATE _DEFAULT_SOURCE)
  endif()
endif()
