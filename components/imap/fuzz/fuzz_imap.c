/* libFuzzer: arbitrary server bytes, split at fuzzer-chosen points, into one engine.
 * Input: 4 config bytes (auth/security/idle, work size, split seed, out size), then the bytes
 * the "server" sends. The engine's answers to events are driven by the seed as well, so the
 * STARTTLS, IDLE, recheck, NOOP and LOGOUT paths are all reachable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biff/imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const folders[] = { "INBOX", "Archive", "Entw\xc3\xbcrfe", "R&D \"q\"" };
static const char secret[] = "pw-secret";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static biff_imap e;
    biff_imap_config cfg;
    size_t work_cap, out_cap, pos = 0;
    uint32_t rng;
    uint8_t *work, *out;
    const uint8_t *p;
    const char *detail;

    if (size < 4) return 0;
    memset(&cfg, 0, sizeof(cfg));
    cfg.user = "u";
    cfg.secret = secret;
    cfg.host = "localhost";
    cfg.port = 993;
    cfg.folders = folders;
    cfg.n_folders = (uint8_t)(1 + (data[0] >> 6) % 4);
    cfg.auth = (uint8_t)(data[0] % 5);
    cfg.security = (uint8_t)((data[0] >> 3) % 3);
    cfg.idle = (uint8_t)((data[0] >> 5) & 1);
    work_cap = 64 + (size_t)data[1] * 4;
    out_cap = 64 + (size_t)data[3] * 4;
    rng = data[2] * 2654435761u + 1;
    /* exact-size heap buffers: ASan flags any byte written past them */
    work = malloc(work_cap);
    out = malloc(out_cap);
    if (!work || !out) abort();
    if (biff_imap_init(&e, &cfg, work, work_cap, out, out_cap) != BIFF_IMAP_OK) abort();
    data += 4;
    size -= 4;
    while (pos < size) {
        size_t chunk, used = 0, n;
        biff_imap_status r;
        rng = rng * 1103515245u + 12345u;
        chunk = data[-2] ? 1 + (rng >> 16) % data[-2] : size - pos;
        if (chunk > size - pos) chunk = size - pos;
        r = biff_imap_feed(&e, data + pos, chunk, &used);
        if (used > chunk) abort();
        pos += used;
        while ((n = biff_imap_output(&e, &p)) != 0) {
            if (n > out_cap || p != out) abort();
            biff_imap_output_done(&e, (rng & 1) ? 1 : n);
        }
        switch (r) {
        case BIFF_IMAP_OK:
            if (used != chunk) abort();
            break;
        case BIFF_IMAP_EV_STARTTLS:
            if (used != chunk) abort();
            (void)biff_imap_tls_started(&e);
            break;
        case BIFF_IMAP_EV_CHANGED:
        case BIFF_IMAP_EV_IDLING:
        case BIFF_IMAP_EV_CHECKED:
            switch ((rng >> 8) % 4) {
            case 0: (void)biff_imap_recheck(&e); break;
            case 1: (void)biff_imap_noop(&e); break;
            case 2: (void)biff_imap_logout(&e); break;
            default: break;
            }
            break;
        case BIFF_IMAP_EV_CLOSED:
        case BIFF_IMAP_E_FAILED: pos = size; break;
        default: abort(); /* E_ARG / E_STATE cannot come from feed with valid arguments */
        }
    }
    for (size_t i = 0; i < cfg.n_folders; i++)
        if (!biff_imap_folder(&e, i)) abort();
    (void)biff_imap_error(&e, &detail);
    if (strlen(detail) >= BIFF_IMAP_DETAIL_MAX || strstr(detail, secret)) abort();
    for (const char *c = detail; *c; c++)
        if (*c < 0x20 || *c > 0x7E) abort();
    free(work);
    free(out);
    return 0;
}
