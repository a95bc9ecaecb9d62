/*
 * biff_ha driven from lines on stdin, for the test against a real broker (test_ha_broker.py),
 * which carries the messages with mosquitto_pub/mosquitto_sub. One command per line:
 *   account ID_HEX UNREAD NEW ERR NAME   add an account (before connect)
 *   set I UNREAD NEW ERR                 change account I's counts and error class
 *   connect | republish                  then print what is due
 *   next                                 print what is due: "PUB <topic> <payload>" lines
 *                                        ("-" for an empty payload), then "IDLE"
 *   in RETAINED TOPIC [PAYLOAD]          print NONE, PRESS, HA_ONLINE or "STALE <topic>"
 *   subs | will                          print the subscriptions / the last will
 * Arguments: NODE BASE [PREFIX [NAME MODEL SW_VERSION]] (the device as a product shows it; "-" as
 * PREFIX is the default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biff/ha.h"

#define MAXA 8

static biff_status_account acct[MAXA];
static uint32_t ids[MAXA];
static biff_ha_shown shown[MAXA];
static size_t n;
static biff_ha ha;
static biff_ha_device dev;
static int ready;

static void set(size_t i, unsigned long unread, unsigned long fresh, unsigned err)
{
    acct[i].n_folders = 1;
    acct[i].folder[0].unseen = (uint32_t)unread;
    acct[i].folder[0].fresh = (uint32_t)fresh;
    acct[i].err = (uint8_t)err;
    acct[i].state = err ? BIFF_STATE_ERROR : BIFF_STATE_OK;
}

static void print_due(void)
{
    biff_ha_msg m;
    biff_ha_status st;
    while ((st = biff_ha_next(&ha, &m)) == BIFF_HA_OK) {
        printf("PUB %s %s\n", m.topic, m.len ? m.payload : "-");
        biff_ha_sent(&ha);
    }
    printf(st == BIFF_HA_IDLE ? "IDLE\n" : "E_SPACE\n");
}

static int init(void)
{
    if (ready) return 0;
    if (biff_ha_init(&ha, &dev, acct, ids, shown, n) != BIFF_HA_OK) {
        printf("E_ARG\n");
        return -1;
    }
    ready = 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ha_tool NODE BASE [PREFIX [NAME MODEL SW_VERSION]] < commands\n");
        return 2;
    }
    int named = argc > 6;
    dev = (biff_ha_device){ argc > 3 && strcmp(argv[3], "-") ? argv[3] : NULL,
                            argv[2],
                            argv[1],
                            named ? argv[4] : "tinybiff test",
                            named ? argv[5] : "ha_tool",
                            named ? argv[6] : "0.1.0" };
    char line[2048];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char cmd[16] = "";
        int off = 0;
        if (sscanf(line, "%15s %n", cmd, &off) < 1) continue;
        const char *rest = line + off;
        if (!strcmp(cmd, "account") && n < MAXA && !ready) {
            unsigned long id, unread, fresh;
            unsigned err;
            int o = 0;
            if (sscanf(rest, "%lx %lu %lu %u %n", &id, &unread, &fresh, &err, &o) < 4) return 2;
            ids[n] = (uint32_t)id;
            snprintf(acct[n].name, sizeof acct[n].name, "%s", rest + o);
            set(n++, unread, fresh, err);
        } else if (!strcmp(cmd, "set")) {
            unsigned long i, unread, fresh;
            unsigned err;
            if (sscanf(rest, "%lu %lu %lu %u", &i, &unread, &fresh, &err) != 4 || i >= n) return 2;
            set(i, unread, fresh, err);
        } else if (!strcmp(cmd, "connect")) {
            if (init()) continue;
            biff_ha_connected(&ha);
            print_due();
        } else if (!strcmp(cmd, "republish")) {
            biff_ha_republish(&ha);
            print_due();
        } else if (!strcmp(cmd, "next")) {
            print_due();
        } else if (!strcmp(cmd, "in")) {
            int retained = 0, o = 0;
            char topic[512];
            if (sscanf(rest, "%d %511s %n", &retained, topic, &o) < 2) return 2;
            if (init()) continue;
            const char *payload = rest + o;
            biff_ha_msg reply;
            switch (biff_ha_incoming(&ha, topic, strlen(topic), payload, strlen(payload), retained, &reply)) {
            case BIFF_HA_IN_PRESS: printf("PRESS\n"); break;
            case BIFF_HA_IN_HA_ONLINE: printf("HA_ONLINE\n"); break;
            case BIFF_HA_IN_STALE: printf("STALE %s\n", reply.topic); break;
            default: printf("NONE\n"); break;
            }
        } else if (!strcmp(cmd, "subs")) {
            if (init()) continue;
            char t[BIFF_HA_SUBSCRIPTIONS][BIFF_HA_TOPIC_MAX];
            size_t k = biff_ha_subscriptions(&ha, t);
            for (size_t i = 0; i < k; i++) printf("SUB %s\n", t[i]);
            printf("END\n");
        } else if (!strcmp(cmd, "will")) {
            if (init()) continue;
            biff_ha_msg m;
            biff_ha_will(&ha, &m);
            printf("WILL %s %s\n", m.topic, m.payload);
        } else {
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}
