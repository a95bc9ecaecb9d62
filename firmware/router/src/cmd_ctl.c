#include "cmd_ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "biff/uci.h"
#include "ctl.h"

#define DEFAULT_CONFIG "/etc/config/tinybiff"

static void usage(FILE *f, const char *cmd)
{
    fprintf(f,
            "usage: tinybiff %s [-c FILE | -s SOCKET]\n"
            "  -c FILE    the daemon's UCI config, for its option control (default " DEFAULT_CONFIG ")\n"
            "  -s SOCKET  the control socket itself\n"
            "%s\n",
            cmd,
            strcmp(cmd, "ack") == 0 ? "Acknowledges all new mail, as the status page's button does."
                                    : "Prints the daemon's status JSON (the format of /status.json).");
}

/* The socket's path from the config's main section; account sections are not needed here. */
static int control_path(const char *config, char *out, size_t cap)
{
    static char text[256 * 1024];
    FILE *f = fopen(config, "r");
    if (!f) {
        fprintf(stderr, "tinybiff: %s: %s\n", config, strerror(errno));
        return -1;
    }
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    static biff_uci_config cfg;
    biff_uci_init(&cfg, NULL, 0, NULL, 0, NULL, 0);
    biff_uci_parse(&cfg, config, text, len);
    if (!cfg.globals.control[0]) {
        fprintf(stderr, "tinybiff: %s has no option control (the daemon's control socket)\n", config);
        return -1;
    }
    snprintf(out, cap, "%s", cfg.globals.control);
    return 0;
}

int cmd_ctl(int argc, char **argv)
{
    const char *cmd = argv[0], *config = DEFAULT_CONFIG, *sock = NULL;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "c:s:h")) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 's')
            sock = optarg;
        else if (c == 'h') {
            usage(stdout, cmd);
            return 0;
        } else {
            usage(stderr, cmd);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr, cmd);
        return 2;
    }
    char path[108];
    if (!sock) {
        if (control_path(config, path, sizeof path) != 0) return 1;
        sock = path;
    }
    char detail[256];
    if (ctl_request(sock, cmd, stdout, detail, sizeof detail) != CTL_OK) {
        fprintf(stderr, "tinybiff: %s\n", detail);
        return 1;
    }
    return 0;
}
