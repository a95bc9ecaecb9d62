/*
 * libFuzzer: any topic and payload from the broker. The topic and payload are copied into
 * buffers of their exact size (no NUL), so ASan sees any read past what the broker sent.
 * Invariants: a deletion names the topic that came in, is empty and retained; only the command
 * topic presses the button; HA's status only republishes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biff/ha.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const biff_ha_device dev = { "homeassistant", "tinybiff/k", "tb_k", "k", "m", "1" };
    static biff_status_account acct[2];
    static const uint32_t ids[2] = { 0x0badcafeu, 0x12345678u };
    static biff_ha_shown shown[2];
    static biff_ha_msg reply;
    biff_ha ha;
    if (size < 2) return 0;
    size_t tlen = data[0]; /* then a flags byte (bit 0: retained), the topic, the payload */
    int retained = data[1] & 1;
    data += 2, size -= 2;
    if (tlen > size) tlen = size;
    char *topic = malloc(tlen ? tlen : 1);
    char *payload = malloc(size - tlen ? size - tlen : 1);
    memcpy(topic, data, tlen);
    memcpy(payload, data + tlen, size - tlen);
    if (biff_ha_init(&ha, &dev, acct, ids, shown, 2) != BIFF_HA_OK) __builtin_trap();
    biff_ha_connected(&ha);
    biff_ha_in r = biff_ha_incoming(&ha, topic, tlen, payload, size - tlen, retained, &reply);
    if (r == BIFF_HA_IN_STALE &&
        (reply.len != 0 || !reply.retain || strlen(reply.topic) != tlen || memcmp(reply.topic, topic, tlen)))
        __builtin_trap();
    if (r == BIFF_HA_IN_PRESS && (retained || tlen != 14 || memcmp(topic, "tinybiff/k/ack", 14))) __builtin_trap();
    /* Whatever came in, what is due next is still a well-formed message. */
    biff_ha_msg m;
    while (biff_ha_next(&ha, &m) == BIFF_HA_OK) {
        if (strlen(m.payload) != m.len) __builtin_trap();
        biff_ha_sent(&ha);
    }
    free(topic);
    free(payload);
    return 0;
}
