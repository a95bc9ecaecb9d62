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

if(NOT MBEDTLS_DIR)
  biff_fetch_dep(mbedtls MBEDTLS_DIR_RESOLVED)
else()
  set(MBEDTLS_DIR_RESOLVED ${MBEDTLS_DIR})
endif()
if(NOT LWIP_DIR)
  biff_fetch_dep(lwip LWIP_DIR_RESOLVED)
else()
  set(LWIP_DIR_RESOLVED ${LWIP_DIR})
endif()
if(NOT EXISTS ${MBEDTLS_DIR_RESOLVED}/include/mbedtls/build_info.h)
  message(FATAL_ERROR "MBEDTLS_DIR=${MBEDTLS_DIR_RESOLVED} is not an mbedTLS 3.x tree")
endif()
if(NOT EXISTS ${LWIP_DIR_RESOLVED}/src/include/lwip/init.h)
  message(FATAL_ERROR "LWIP_DIR=${LWIP_DIR_RESOLVED} is not an lwIP tree")
endif()
message(STATUS "mbedTLS: ${MBEDTLS_DIR_RESOLVED}")
message(STATUS "lwIP: ${LWIP_DIR_RESOLVED}")

# Third-party code: its own warnings, never -Werror; sanitizers still apply (global flags).
set(biff_third_party_flags -w)

# ---- mbedTLS: one static library, gc-sections and the archive drop what a build does not use.
file(GLOB tb_mbedtls_srcs ${MBEDTLS_DIR_RESOLVED}/library/*.c)
add_library(tb_mbedtls STATIC ${tb_mbedtls_srcs})
target_include_directories(tb_mbedtls SYSTEM PUBLIC
  ${MBEDTLS_DIR_RESOLVED}/include
  ${CMAKE_SOURCE_DIR}/components/tls/config
  ${CMAKE_SOURCE_DIR}/board/${BIFF_BOARD}/include)
target_include_directories(tb_mbedtls PRIVATE ${MBEDTLS_DIR_RESOLVED}/library)
target_compile_definitions(tb_mbedtls PUBLIC
  MBEDTLS_CONFIG_FILE="biff_mbedtls_config.h"
  MBEDTLS_USER_CONFIG_FILE="biff_mbedtls_board.h")
target_compile_options(tb_mbedtls PRIVATE ${biff_third_party_flags})
add_library(tb_mbedcrypto ALIAS tb_mbedtls)

# ---- lwIP: core + IPv4/IPv6 + netif helpers + the apps the products use.
set(LWIP_DIR ${LWIP_DIR_RESOLVED})
include(${LWIP_DIR_RESOLVED}/src/Filelists.cmake)
add_library(tb_lwip STATIC
  ${lwipcore_SRCS} ${lwipcore4_SRCS} ${lwipcore6_SRCS} ${lwipnetif_SRCS}
  ${lwipsntp_SRCS} ${lwiphttp_SRCS})
target_include_directories(tb_lwip SYSTEM PUBLIC
  ${LWIP_DIR_RESOLVED}/src/include
  ${CMAKE_SOURCE_DIR}/board/${BIFF_BOARD}/include)
target_compile_options(tb_lwip PRIVATE ${biff_third_party_flags})
# The board provides arch/cc.h (and sys_now); it links its port glue into tb_lwip.
