/* tinybiff: Linux mail checker. `check` is the one-shot command, `run` the daemon. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <string.h>

#include "cmd_auth.h"
#include "cmd_check.h"
#include "cmd_ctl.h"
#include "cmd_run.h"
#include "biff/tls_heap.h"
#include "mbedtls/version.h"

#if defined(TINYBIFF_TLS_POOL)
/* A test build (tinybiff-smallpool): mbedTLS in a fixed pool as on the notifier, so running out
 * of it can be shown to be reported as that. */
static _Alignas(8) unsigned char tls_pool[TINYBIFF_TLS_POOL];
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: tinybiff check [options] URL...   check accounts once, JSON lines out\n"
               "       tinybiff run -c FILE                the daemon: poller, LEDs, status page\n"
               "       tinybiff auth ACCOUNT -c FILE       authorize an OAuth2 account (device code)\n"
               "       tinybiff ack [-c FILE]              acknowledge new mail in the running daemon\n"
               "       tinybiff status [-c FILE]           the running daemon's status JSON\n"
               "       tinybiff --version\n"
               "Run 'tinybiff check --help' for the check options.\n");
}

int main(int argc, char **argv)
{
    /* Passwords and tokens live in this process's memory: no core file may carry them away,
     * and other processes of the same user may not attach to read them. */
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
#if !defined(__SANITIZE_ADDRESS__) /* LeakSanitizer must attach to the process to scan it */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("tinybiff 0.1.0 (mbedTLS %s)\n", MBEDTLS_VERSION_STRING);
        return 0;
    }
    /* Every mbedTLS allocation is counted: peaks for --stats, refusals for the TLS errors. */
#if defined(TINYBIFF_TLS_POOL)
    biff_tls_heap_use_pool(tls_pool, sizeof tls_pool);
#else
    biff_tls_heap_use_system(0);
#endif
    if (argc > 1 && strcmp(argv[1], "check") == 0) return cmd_check(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "auth") == 0) return cmd_auth(argc - 1, argv + 1);
    if (argc > 1 && (strcmp(argv[1], "ack") == 0 || strcmp(argv[1], "status") == 0)) return cmd_ctl(argc - 1, argv + 1);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
