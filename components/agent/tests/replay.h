/*
 * Test helper of the agent's step-function tests: a transport that replays a recorded Dovecot
 * dialogue (components/imap/tests/data, components/pop3/tests/data) one byte per recv(),
 * checking byte for byte that the engine sends what the recording says. A server line is only
 * delivered once every client line before it in the recording was sent. Also the port's fake
 * clock (clock_ms, moved on by the test). Included by one test file each (static state).
 */
#ifndef BIFF_AGENT_TEST_REPLAY_H
#define BIFF_AGENT_TEST_REPLAY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biff/net.h"

/* A client line containing swap_from is taken as swap_to (a recording made with another token). */
/* The port's clocks: monotonic ms and wall time from it (a fixed epoch in 2023). */
static uint64_t clock_ms = 1000;

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static uint32_t fake_wall(void *ctx)
{
    (void)ctx;
    return 1700000000u + (uint32_t)(clock_ms / 1000u);
}

static const char *swap_from, *swap_to;

#define MAXB 16384

typedef struct {
    uint8_t srv[MAXB]; /* server bytes in order */
    size_t srv_len, srv_off;
    size_t gate[256];      /* srv offset where server line block k starts ... */
    size_t gate_need[256]; /* ... and the client bytes that must have been sent before it */
    unsigned n_gates;
    uint8_t cli[MAXB]; /* client bytes the engine must send */
    size_t cli_len, cli_off;
    int reset_at; /* recv fails with E_IO once srv_off reaches it (-1: never) */
    int mismatch;
    char user[64], secret[64], folders[256];
} script;

static script sc;

static size_t unescape(const char *in, uint8_t *out)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (p[0] == '\\' && p[1] == '\\') {
            out[n++] = '\\';
            p++;
        } else if (p[0] == '\\' && p[1] == 'x' && p[2] && p[3]) {
            char hex[3] = { p[2], p[3], 0 };
            out[n++] = (uint8_t)strtoul(hex, NULL, 16);
            p += 3;
        } else {
            out[n++] = (uint8_t)*p;
        }
    }
    return n;
}

static void param(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    if (!p) return;
    p += strlen(key);
    size_t n = strcspn(p, " \n");
    snprintf(out, cap, "%.*s", (int)n, p);
}

static void load(const char *path, int reset_at)
{
    memset(&sc, 0, sizeof sc);
    sc.reset_at = reset_at;
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int last_s = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '@') { /* IMAP: "@ user=.. secret=.."; POP3: "@user U" */
            param(line, "user=", sc.user, sizeof sc.user);
            param(line, "secret=", sc.secret, sizeof sc.secret);
            param(line, "folders=", sc.folders, sizeof sc.folders);
            param(line, "@user ", sc.user, sizeof sc.user);
            param(line, "@secret ", sc.secret, sizeof sc.secret);
        } else if (!strncmp(line, "S: ", 3)) {
            if (!last_s) {
                sc.gate[sc.n_gates] = sc.srv_len;
                sc.gate_need[sc.n_gates++] = sc.cli_len;
            }
            sc.srv_len += unescape(line + 3, sc.srv + sc.srv_len);
            sc.srv[sc.srv_len++] = '\r';
            sc.srv[sc.srv_len++] = '\n';
            last_s = 1;
        } else if (!strncmp(line, "C: ", 3)) {
            if (swap_from && strstr(line, swap_from)) snprintf(line, sizeof line, "C: %s", swap_to);
            sc.cli_len += unescape(line + 3, sc.cli + sc.cli_len);
            sc.cli[sc.cli_len++] = '\r';
            sc.cli[sc.cli_len++] = '\n';
            last_s = 0;
        }
    }
    fclose(f);
}

/* How far the server may have sent: up to the first gate whose client bytes are not all in. */
static size_t srv_limit(void)
{
    for (unsigned k = 0; k < sc.n_gates; k++)
        if (sc.gate_need[k] > sc.cli_off) return sc.gate[k];
    return sc.srv_len;
}

static int32_t fake_send(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    if (sc.cli_off + len > sc.cli_len || memcmp(sc.cli + sc.cli_off, buf, len) != 0) {
        fprintf(stderr, "engine sent unexpected bytes at client offset %zu: %.*s\n", sc.cli_off, (int)len,
                (const char *)buf);
        sc.mismatch = 1;
        return BIFF_NET_E_IO;
    }
    sc.cli_off += len;
    return (int32_t)len;
}

static int32_t fake_recv(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (sc.reset_at >= 0 && sc.srv_off >= (size_t)sc.reset_at) return BIFF_NET_E_IO;
    if (len == 0 || sc.srv_off >= srv_limit()) return 0;
    buf[0] = sc.srv[sc.srv_off++]; /* one byte at a time */
    return 1;
}

#endif
