#define _POSIX_C_SOURCE 200809L
#include "check_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mbedtls/base64.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tinybiff check [options] URL...\n"
               "  URL            imaps://user@host[:port]/FOLDER, imap://..., pop3s://user@host, pop3://...\n"
               "                 (;AUTH=PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|+APOP after the user picks the mechanism)\n"
               "  --ca FILE|DIR  trusted CA certificates (default: the system bundle)\n"
               "  --pin sha256/BASE64   also require this SHA-256 of the server's public key\n"
               "  --password-file FILE  password or OAuth2 token (first line); default: $TINYBIFF_PASSWORD\n"
               "  --folder NAME  check this IMAP folder too (repeatable)\n"
               "  --security none       allow plaintext imap:// and pop3:// (credentials in clear!)\n"
               "  --timeout SEC  give up on an account after SEC seconds (default 30)\n"
               "  --net lwip     use the in-process lwIP stack on a TAP interface (see README)\n"
               "  --stats        add the peak mbedTLS heap of each check (tls_heap_peak) to its JSON\n"
               "  --state FILE   keep sync state in FILE (a flash image): adds \"new\" (mail since the\n"
               "                 last acknowledged check; the first check sets the baseline)\n"
               "  --ack          acknowledge: what this check saw is no longer new next time\n"
               "Prints one JSON object per folder; exit status 0 when every check succeeded.\n");
}

static int parse_pin(const char *arg, uint8_t out[32])
{
    const char *b64 = NULL;
    if (strncmp(arg, "sha256//", 8) == 0)
        b64 = arg + 8; /* curl's spelling */
    else if (strncmp(arg, "sha256/", 7) == 0)
        b64 = arg + 7;
    if (!b64) return -1;
    size_t n = 0;
    if (mbedtls_base64_decode(out, 32, &n, (const unsigned char *)b64, strlen(b64)) != 0 || n != 32) return -1;
    return 0;
}

static int read_secret_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tinybiff: cannot read password file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fprintf(stderr, "tinybiff: warning: %s is readable by other users (chmod 600 it)\n", path);
    }
    if (!fgets(out, (int)cap, f)) out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    if (!out[0]) {
        fprintf(stderr, "tinybiff: password file %s is empty\n", path);
        return -1;
    }
    return 0;
}

int check_opts_parse(int argc, char **argv, check_opts *o)
{
    *o = (check_opts){ .timeout_ms = 30000 };
    static const struct option longopts[] = {
        { "ca", required_argument, 0, 'c' },
        { "pin", required_argument, 0, 'p' },
        { "password-file", required_argument, 0, 'w' },
        { "folder", required_argument, 0, 'f' },
        { "security", required_argument, 0, 's' },
        { "timeout", required_argument, 0, 't' },
        { "net", required_argument, 0, 'n' },
        { "stats", no_argument, 0, 'S' },
        { "state", required_argument, 0, 'F' },
        { "ack", no_argument, 0, 'A' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->ca = optarg; break;
        case 'p':
            if (parse_pin(optarg, o->pin) != 0) {
                fprintf(stderr, "tinybiff: --pin wants sha256/BASE64 of the server's public key (32 bytes)\n");
                return 2;
            }
            o->has_pin = 1;
            break;
        case 'w': o->password_file = optarg; break;
        case 'f':
            if (o->n_extra_folders + 1 >= BIFF_IMAP_MAX_FOLDERS) {
                fprintf(stderr, "tinybiff: at most %d folders per account\n", BIFF_IMAP_MAX_FOLDERS);
                return 2;
            }
            o->folders[o->n_extra_folders++] = optarg;
            break;
        case 's':
            if (strcmp(optarg, "none") == 0)
                o->security_none = 1;
            else if (strcmp(optarg, "starttls") != 0) {
                fprintf(stderr, "tinybiff: --security is starttls (default for imap:// and pop3://) or none\n");
                return 2;
            }
            break;
        case 't': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s < 1 || s > 3600) {
                fprintf(stderr, "tinybiff: --timeout wants seconds (1-3600)\n");
                return 2;
            }
            o->timeout_ms = (int)s * 1000;
            break;
        }
        case 'n':
            if (strcmp(optarg, "lwip") == 0) {
#if !BIFF_WITH_LWIP
                fprintf(stderr, "tinybiff: this build has no lwIP (built with BIFF_WITH_LWIP=OFF)\n");
                return 2;
#endif
                o->net = LINK_LWIP;
            } else if (strcmp(optarg, "posix") == 0)
                o->net = LINK_POSIX;
            else {
                fprintf(stderr, "tinybiff: --net is posix (default) or lwip\n");
                return 2;
            }
            break;
        case 'S': o->stats = 1; break;
        case 'F': o->state = optarg; break;
        case 'A': o->ack = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int check_opts_secret(const check_opts *o, char *out, size_t cap)
{
    if (o->password_file) return read_secret_file(o->password_file, out, cap) != 0 ? 2 : 0;
    const char *env = getenv("TINYBIFF_PASSWORD");
    if (!env || !*env) {
        fprintf(stderr, "tinybiff: no password: set TINYBIFF_PASSWORD or use --password-file\n");
        return 2;
    }
    snprintf(out, cap, "%s", env);
    return 0;
}
