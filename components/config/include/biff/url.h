/*
 * Account URLs as RFC 5092 (IMAP) and RFC 2384 (POP) define them, with the schemes curl uses:
 *   imaps://user;AUTH=PLAIN@host:993/INBOX     imap://user@host/Archive
 *   pop3s://user@host                          pop3://user;AUTH=+APOP@host:110
 * and MQTT broker URLs (biff_url_parse_mqtt):  mqtts://user@broker.lan   mqtt://broker:1883
 * Passwords are never taken from a URL (they would end up in logs and process lists).
 */
#ifndef BIFF_URL_H
#define BIFF_URL_H

#include <stddef.h>

typedef enum {
    BIFF_URL_OK = 0,
    BIFF_URL_E_SCHEME,   /* not imap, imaps, pop, pop3 or pop3s */
    BIFF_URL_E_PASSWORD, /* user:password@ given */
    BIFF_URL_E_USER,     /* empty or badly encoded user */
    BIFF_URL_E_AUTH,     /* unknown ;AUTH= mechanism */
    BIFF_URL_E_HOST,     /* empty or invalid host */
    BIFF_URL_E_PORT,     /* port not 1..65535 */
    BIFF_URL_E_PATH,     /* bad mailbox, or a mailbox on a POP URL */
    BIFF_URL_E_TOO_LONG, /* a part exceeds its buffer */
} biff_url_status;

typedef enum { BIFF_URL_IMAP = 0, BIFF_URL_POP3 = 1, BIFF_URL_MQTT = 2 } biff_url_proto;

typedef struct {
    unsigned char proto;        /* biff_url_proto */
    unsigned char implicit_tls; /* imaps / pop3s */
    unsigned short port;        /* explicit or the scheme's default */
    char user[128];             /* percent-decoded */
    char auth[24];              /* ;AUTH= value upper-cased ("" = any, "+APOP" for POP) */
    char host[256];             /* without [ ] for IPv6 literals */
    char mailbox[256];          /* percent-decoded UTF-8; "INBOX" when absent (IMAP only) */
} biff_url;

/** Parse an account URL into out. On failure out is unspecified. */
biff_url_status biff_url_parse(const char *text, biff_url *out);

/**
 * Parse an MQTT broker URL: mqtts://[user@]host[:port] (TLS, port 8883 by default) or
 * mqtt://[user@]host[:port] (plain TCP, 1883). No path, no ;AUTH=, no password (as above).
 */
biff_url_status biff_url_parse_mqtt(const char *text, biff_url *out);

/** text as it may be shown: a password given in it anyway ("user:password@") is cut out,
 *  however broken the rest is. Writes into out (cap bytes, cut to fit) and returns out. */
const char *biff_url_redact(const char *text, char *out, size_t cap);

/** One-line reason for a status, for error messages. */
const char *biff_url_strerror(biff_url_status st);

#endif
