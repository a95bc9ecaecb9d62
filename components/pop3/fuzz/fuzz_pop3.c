/* libFuzzer target: arbitrary server bytes at fuzzer-chosen split points.
 * Input: [config byte][split seed byte][server bytes...]. TLS "succeeds" whenever the engine asks
 * for it, and EOF is signalled at the end, so every state is reachable. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biff/pop3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t uids;

static void on_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    (void)ctx;
    if (msgno == 0 || len == 0 || len > BIFF_POP3_UID_MAX) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        if (uid[i] < 0x21 || uid[i] > 0x7e) {
            abort();
        }
    }
    uids++;
}

static void check(const biff_pop3 *e, const char *secret)
{
    const biff_pop3_result *r = biff_pop3_get_result(e);
    const char *nul = memchr(r->detail, '\0', sizeof r->detail);
    size_t n;
    if (!nul) {
        abort();
    }
    n = (size_t)(nul - r->detail);
    for (size_t i = 0; i < n; i++) {
        if (r->detail[i] < 0x20 || r->detail[i] > 0x7e) {
            abort();
        }
    }
    if (strstr(r->detail, secret)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char token[600];
    static const uint16_t maxlines[4] = { 512, 64, 100, 1000 };
    biff_pop3_config cfg;
    biff_pop3 e;
    uint8_t *work, *outbuf;
    size_t line_cap, cap, pos = 2;
    uint32_t rng;
    int tls;
    biff_pop3_status st = BIFF_POP3_OK;

    if (size < 2) {
        return 0;
    }
    memset(token, 'T', sizeof token - 1);
    memset(&cfg, 0, sizeof cfg);
    cfg.user = "joe";
    cfg.secret = (data[0] & 0x80) ? token : "s3cret-pw";
    cfg.host = "mail.example.com";
    cfg.port = 995;
    cfg.auth = (biff_pop3_auth)(data[0] % 6u);
    cfg.security = (biff_pop3_security)((data[0] / 6u) % 3u);
    cfg.on_uid = (data[0] & 0x40) ? NULL : on_uid;
    line_cap = maxlines[(data[1] >> 6) & 3];
    cap = (data[1] & 0x20) ? 64u : 1400u; /* output buffer */
    work = malloc(line_cap);
    outbuf = malloc(cap);
    if (!work || !outbuf || biff_pop3_init(&e, &cfg, work, line_cap, outbuf, cap) != BIFF_POP3_OK) {
        abort();
    }
    rng = data[1] * 2654435761u + 1u;
    tls = cfg.security == BIFF_POP3_SEC_TLS;
    while (pos < size && (st == BIFF_POP3_OK || st == BIFF_POP3_EV_STARTTLS)) {
        size_t n = size - pos, used = 0;
        const uint8_t *out;
        size_t k;
        rng = rng * 1103515245u + 12345u;
        if ((data[1] & 0x1f) != 0) {
            size_t lim = (size_t)(rng >> 16) % (size_t)((data[1] & 0x1f) * 4u) + 1u;
            n = n < lim ? n : lim;
        }
        st = biff_pop3_feed(&e, data + pos, n, &used);
        if (used > n || ((st == BIFF_POP3_OK || st == BIFF_POP3_EV_STARTTLS) && used != n)) {
            abort();
        }
        pos += used;
        while ((k = biff_pop3_output(&e, &out)) > 0) {
            if (k > cap) {
                abort();
            }
            /* Never a credential (or even the user name) in clear unless security=none. */
            if (!tls && cfg.security != BIFF_POP3_SEC_NONE &&
                (memmem(out, k, "USER ", 5) || memmem(out, k, "PASS ", 5) || memmem(out, k, "APOP ", 5) ||
                 memmem(out, k, "AUTH ", 5))) {
                abort();
            }
            biff_pop3_output_done(&e, (rng & 1) && k > 1 ? k / 2 : k);
        }
        if (st == BIFF_POP3_EV_STARTTLS && (rng & 0x100)) {
            st = biff_pop3_tls_started(&e);
            tls = 1;
        }
        check(&e, cfg.secret);
    }
    if (st == BIFF_POP3_OK || st == BIFF_POP3_EV_STARTTLS) {
        st = biff_pop3_eof(&e);
    }
    if (st != BIFF_POP3_EV_CLOSED && st != BIFF_POP3_E_FAILED) {
        abort();
    }
    if (st == BIFF_POP3_EV_CLOSED && biff_pop3_get_result(&e)->error != BIFF_ERR_NONE) {
        abort();
    }
    check(&e, cfg.secret);
    biff_pop3_clear(&e);
    free(work);
    free(outbuf);
    return 0;
}
