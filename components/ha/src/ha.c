/* Home Assistant MQTT discovery and state: what to publish and when (no I/O). */
#include "biff/ha.h"

#include <string.h>

#include "biff/out.h"
#include "biff/result.h"

/* The three entities of an account, and the three of the device, in config order. */
enum { CFG_ACK, CFG_UNREAD, CFG_NEW, CFG_DEVICE };
enum { ACC_UNREAD, ACC_NEW, ACC_PROBLEM, ACC_ENTITIES };
enum { PEND_NONE, PEND_ONLINE, PEND_CONFIG, PEND_TOTAL, PEND_ACCOUNT };

static const char *const acc_suffix[ACC_ENTITIES] = { "_unread", "_new", "_problem" };
static const char *const acc_label[ACC_ENTITIES] = { " unread", " new", " problem" };
static const char *const acc_key[ACC_ENTITIES] = { "unread", "new", "problem" };

static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n]) n++;
    return n;
}

/* A topic part: non-empty, within max, and no wildcard (levels may be several for base). */
static int topic_ok(const char *s, size_t max, int levels)
{
    size_t n = bounded_len(s, max);
    if (n == 0 || n > max || s[0] == '/' || s[n - 1] == '/') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+' || c == '#' || c < 0x20 || c == 0x7f) return 0;
        if (c == '/' && (!levels || s[i + 1] == '/')) return 0;
    }
    return 1;
}

/* HA's discovery topic accepts node and object ids of [a-zA-Z0-9_-] only. */
static int id_ok(const char *s)
{
    size_t n = bounded_len(s, BIFF_HA_NODE_MAX);
    if (n == 0 || n > BIFF_HA_NODE_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int text_ok(const char *s)
{
    if (!s) return 0;
    size_t n = bounded_len(s, BIFF_HA_TEXT_MAX);
    if (n > BIFF_HA_TEXT_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

biff_ha_status biff_ha_init(biff_ha *ha, const biff_ha_device *dev, const biff_status_account *acct,
                            const uint32_t *ids, biff_ha_shown *shown, size_t n)
{
    if (!ha || !dev || (n && (!acct || !ids || !shown))) return BIFF_HA_E_ARG;
    const char *prefix = dev->prefix && dev->prefix[0] ? dev->prefix : "homeassistant";
    /* Three configs per account plus three must count in cfg_next. */
    if (n > (UINT16_MAX - CFG_DEVICE) / ACC_ENTITIES) return BIFF_HA_E_ARG;
    if (!dev->base || !dev->node_id || !topic_ok(prefix, BIFF_HA_PREFIX_MAX, 1) ||
        !topic_ok(dev->base, BIFF_HA_BASE_MAX, 1) || !id_ok(dev->node_id) || !text_ok(dev->name) ||
        !text_ok(dev->model) || !text_ok(dev->sw_version))
        return BIFF_HA_E_ARG;
    memset(ha, 0, sizeof *ha);
    if (n) memset(shown, 0, n * sizeof *shown); /* a device without accounts may pass NULL */
    ha->dev = dev;
    ha->prefix = prefix;
    ha->acct = acct;
    ha->ids = ids;
    ha->shown = shown;
    ha->n = n;
    return BIFF_HA_OK;
}

/* ---- topics ---- */

static void put_hex32(biff_out *o, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    char t[8];
    for (int i = 7; i >= 0; i--, v >>= 4) t[i] = hex[v & 15];
    biff_out_put(o, t, 8);
}

/* End a topic or payload; 0 if it did not fit (then it is empty). */
static int end(biff_out *o)
{
    if (o->pos < o->cap) {
        o->buf[o->pos] = 0;
        return 1;
    }
    if (o->cap) o->buf[0] = 0;
    return 0;
}

static void put_base(biff_out *o, const biff_ha *ha, const char *tail)
{
    biff_out_str(o, ha->dev->base);
    biff_out_str(o, tail);
}

static void put_account_topic(biff_out *o, const biff_ha *ha, size_t i)
{
    put_base(o, ha, "/account/");
    put_hex32(o, ha->ids[i]);
}

/* Object id of config k (< 3 + 3n): "ack", "unread", "new" or "<id>_unread" ... */
static void put_object(biff_out *o, const biff_ha *ha, unsigned k)
{
    static const char *const dev_obj[CFG_DEVICE] = { "ack", "unread", "new" };
    if (k < CFG_DEVICE) {
        biff_out_str(o, dev_obj[k]);
        return;
    }
    k -= CFG_DEVICE;
    put_hex32(o, ha->ids[k / ACC_ENTITIES]);
    biff_out_str(o, acc_suffix[k % ACC_ENTITIES]);
}

static const char *component_of(unsigned k)
{
    if (k == CFG_ACK) return "button";
    if (k >= CFG_DEVICE && (k - CFG_DEVICE) % ACC_ENTITIES == ACC_PROBLEM) return "binary_sensor";
    return "sensor";
}

static void config_topic(biff_out *o, const biff_ha *ha, unsigned k)
{
    biff_out_str(o, ha->prefix);
    biff_out_str(o, "/");
    biff_out_str(o, component_of(k));
    biff_out_str(o, "/");
    biff_out_str(o, ha->dev->node_id);
    biff_out_str(o, "/");
    put_object(o, ha, k);
    biff_out_str(o, "/config");
}

void biff_ha_will(const biff_ha *ha, biff_ha_msg *m)
{
    biff_out t = { .buf = m->topic, .cap = sizeof m->topic };
    put_base(&t, ha, "/availability");
    end(&t);
    strcpy(m->payload, "offline");
    m->len = 7;
    m->retain = 1;
}

size_t biff_ha_subscriptions(const biff_ha *ha, char topics[][BIFF_HA_TOPIC_MAX])
{
    biff_out o[BIFF_HA_SUBSCRIPTIONS];
    for (size_t i = 0; i < BIFF_HA_SUBSCRIPTIONS; i++) o[i] = (biff_out){ .buf = topics[i], .cap = BIFF_HA_TOPIC_MAX };
    put_base(&o[0], ha, "/ack");
    biff_out_str(&o[1], ha->prefix);
    biff_out_str(&o[1], "/status");
    biff_out_str(&o[2], ha->prefix);
    biff_out_str(&o[2], "/+/");
    biff_out_str(&o[2], ha->dev->node_id);
    biff_out_str(&o[2], "/+/config");
    put_base(&o[3], ha, "/account/+");
    for (size_t i = 0; i < BIFF_HA_SUBSCRIPTIONS; i++) end(&o[i]);
    return BIFF_HA_SUBSCRIPTIONS;
}

/* ---- what is due ---- */

void biff_ha_connected(biff_ha *ha)
{
    ha->connected = 1;
    ha->online_due = 1;
    biff_ha_republish(ha);
}

void biff_ha_disconnected(biff_ha *ha)
{
    ha->connected = 0;
    ha->pend_kind = PEND_NONE;
}

void biff_ha_republish(biff_ha *ha)
{
    ha->cfg_next = 0;
    ha->total.valid = 0;
    for (size_t i = 0; i < ha->n; i++) ha->shown[i].valid = 0;
    ha->pend_kind = PEND_NONE;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a + b < a ? UINT32_MAX : a + b;
}

static biff_ha_shown now_of(const biff_status_account *a)
{
    biff_ha_shown s = { 0 };
    s.unread = biff_status_total(a, 0);
    s.fresh = biff_status_total(a, 1);
    s.err = a->err;
    s.problem = a->err != BIFF_ERR_NONE || a->state == BIFF_STATE_ERROR;
    s.valid = 1;
    return s;
}

static int same(const biff_ha_shown *a, const biff_ha_shown *b)
{
    return a->valid && b->valid && a->unread == b->unread && a->fresh == b->fresh && a->err == b->err &&
           a->problem == b->problem;
}

/* ---- payloads ---- */

static void put_key_text(biff_out *o, const char *key, const char *s, size_t max)
{
    biff_out_str(o, ",\"");
    biff_out_str(o, key);
    biff_out_str(o, "\":\"");
    biff_out_text(o, s, max, BIFF_OUT_JSON);
    biff_out_str(o, "\"");
}

/*
 * A config. Keys use HA's documented abbreviations and "~" for the base topic: the longest
 * config must fit lwIP's output buffer on the notifier.
 */
static void config_payload(biff_out *o, const biff_ha *ha, unsigned k)
{
    static const char *const dev_name[CFG_DEVICE] = { "Acknowledge", "Unread", "New" };
    const biff_ha_device *d = ha->dev;
    biff_out_str(o, "{\"~\":\"");
    biff_out_text(o, d->base, BIFF_HA_BASE_MAX, BIFF_OUT_JSON);
    biff_out_str(o, "\"");
    size_t acc = 0;
    unsigned ent = 0;
    if (k < CFG_DEVICE) {
        put_key_text(o, "name", dev_name[k], 16);
    } else {
        acc = (k - CFG_DEVICE) / ACC_ENTITIES;
        ent = (k - CFG_DEVICE) % ACC_ENTITIES;
        biff_out_str(o, ",\"name\":\"");
        biff_out_text(o, ha->acct[acc].name, sizeof ha->acct[acc].name, BIFF_OUT_JSON);
        biff_out_str(o, acc_label[ent]);
        biff_out_str(o, "\"");
    }
    biff_out_str(o, ",\"uniq_id\":\"");
    biff_out_str(o, d->node_id);
    biff_out_str(o, "_");
    put_object(o, ha, k);
    biff_out_str(o, "\"");
    if (k == CFG_ACK) {
        biff_out_str(o, ",\"cmd_t\":\"~/ack\",\"pl_prs\":\"PRESS\"");
    } else if (k < CFG_DEVICE) {
        biff_out_str(o, ",\"stat_t\":\"~/state\",\"val_tpl\":\"{{ value_json.");
        biff_out_str(o, k == CFG_UNREAD ? "unread" : "new");
        biff_out_str(o, " }}\",\"stat_cla\":\"measurement\"");
    } else {
        biff_out_str(o, ",\"stat_t\":\"~/account/");
        put_hex32(o, ha->ids[acc]);
        biff_out_str(o, "\",\"val_tpl\":\"{{ value_json.");
        biff_out_str(o, acc_key[ent]);
        biff_out_str(o, " }}\"");
        if (ent == ACC_PROBLEM) {
            biff_out_str(o, ",\"dev_cla\":\"problem\",\"json_attr_t\":\"~/account/");
            put_hex32(o, ha->ids[acc]);
            biff_out_str(o, "\",\"json_attr_tpl\":\"{{ {'error': value_json.error} | tojson }}\"");
        } else {
            biff_out_str(o, ",\"stat_cla\":\"measurement\"");
        }
    }
    biff_out_str(o, ",\"avty_t\":\"~/availability\",\"dev\":{\"ids\":[\"");
    biff_out_str(o, d->node_id);
    biff_out_str(o, "\"]");
    put_key_text(o, "name", d->name, BIFF_HA_TEXT_MAX);
    put_key_text(o, "mdl", d->model, BIFF_HA_TEXT_MAX);
    put_key_text(o, "sw", d->sw_version, BIFF_HA_TEXT_MAX);
    biff_out_str(o, ",\"mf\":\"tinybiff\"}}");
}

static void counts_payload(biff_out *o, const biff_ha_shown *s, int account)
{
    biff_out_str(o, "{\"unread\":");
    biff_out_u32(o, s->unread);
    biff_out_str(o, ",\"new\":");
    biff_out_u32(o, s->fresh);
    if (account) {
        biff_out_str(o, s->problem ? ",\"problem\":\"ON\",\"error\":" : ",\"problem\":\"OFF\",\"error\":");
        if (s->err != BIFF_ERR_NONE) {
            biff_out_str(o, "\"");
            biff_out_str(o, biff_error_class_name((biff_error_class)s->err));
            biff_out_str(o, "\"");
        } else {
            biff_out_str(o, "null");
        }
    }
    biff_out_str(o, "}");
}

static biff_ha_shown total_now(const biff_ha *ha)
{
    biff_ha_shown t = { 0 };
    for (size_t i = 0; i < ha->n; i++) {
        t.unread = sat_add(t.unread, biff_status_total(&ha->acct[i], 0));
        t.fresh = sat_add(t.fresh, biff_status_total(&ha->acct[i], 1));
    }
    t.valid = 1;
    return t;
}

biff_ha_status biff_ha_next(biff_ha *ha, biff_ha_msg *m)
{
    biff_out t = { .buf = m->topic, .cap = sizeof m->topic };
    biff_out p = { .buf = m->payload, .cap = sizeof m->payload };
    m->retain = 1;
    ha->pend_kind = PEND_NONE;
    m->topic[0] = m->payload[0] = 0;
    m->len = 0;
    if (!ha->connected) return BIFF_HA_IDLE;
    if (ha->online_due) {
        put_base(&t, ha, "/availability");
        biff_out_str(&p, "online");
        ha->pend_kind = PEND_ONLINE;
    } else if (ha->cfg_next < CFG_DEVICE + ACC_ENTITIES * ha->n) {
        config_topic(&t, ha, ha->cfg_next);
        config_payload(&p, ha, ha->cfg_next);
        ha->pend_kind = PEND_CONFIG;
    } else {
        biff_ha_shown now = total_now(ha);
        if (!same(&now, &ha->total)) {
            put_base(&t, ha, "/state");
            counts_payload(&p, &now, 0);
            ha->pend_kind = PEND_TOTAL;
            ha->pend = now;
        } else {
            for (size_t i = 0; i < ha->n; i++) {
                now = now_of(&ha->acct[i]);
                if (same(&now, &ha->shown[i])) continue;
                put_account_topic(&t, ha, i);
                counts_payload(&p, &now, 1);
                ha->pend_kind = PEND_ACCOUNT;
                ha->pend_idx = (uint16_t)i;
                ha->pend = now;
                break;
            }
        }
        if (ha->pend_kind == PEND_NONE) return BIFF_HA_IDLE;
    }
    if (!end(&t) || !end(&p)) {
        /* Only a config can outgrow its buffer (a name of odd characters): skip it rather than
           ask for it forever; counts and topics have fixed bounds. */
        if (ha->pend_kind == PEND_CONFIG) ha->cfg_next++;
        ha->pend_kind = PEND_NONE;
        m->topic[0] = m->payload[0] = 0;
        return BIFF_HA_E_SPACE;
    }
    m->len = p.pos;
    return BIFF_HA_OK;
}

void biff_ha_sent(biff_ha *ha)
{
    switch (ha->pend_kind) {
    case PEND_ONLINE: ha->online_due = 0; break;
    case PEND_CONFIG: ha->cfg_next++; break;
    case PEND_TOTAL: ha->total = ha->pend; break;
    case PEND_ACCOUNT:
        if (ha->pend_idx < ha->n) ha->shown[ha->pend_idx] = ha->pend;
        break;
    default: break;
    }
    ha->pend_kind = PEND_NONE;
}

/* ---- what arrives ---- */

/* Does topic[*pos..) start with s? Advances *pos past it. */
static int eat(const char *topic, size_t tlen, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (tlen - *pos < n || memcmp(topic + *pos, s, n) != 0) return 0;
    *pos += n;
    return 1;
}

static int is(const char *topic, size_t tlen, const char *a, const char *b)
{
    size_t pos = 0;
    return eat(topic, tlen, &pos, a) && eat(topic, tlen, &pos, b) && pos == tlen;
}

/* 8 lower-case hex digits at s: the account identity. */
static int hex32(const char *s, size_t n, uint32_t *v)
{
    if (n < 8) return 0;
    *v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return 0;
        *v = (*v << 4) | d;
    }
    return 1;
}

static int configured(const biff_ha *ha, uint32_t id)
{
    for (size_t i = 0; i < ha->n; i++)
        if (ha->ids[i] == id) return 1;
    return 0;
}

/* Is <prefix>/<component>/<node>/<object>/config one of today's configs? */
static int config_current(const biff_ha *ha, const char *comp, size_t clen, const char *obj, size_t olen)
{
    char want[BIFF_HA_TOPIC_MAX];
    for (unsigned k = 0; k < CFG_DEVICE; k++) {
        biff_out o = { .buf = want, .cap = sizeof want };
        put_object(&o, ha, k);
        const char *c = component_of(k);
        if (o.pos == olen && !memcmp(want, obj, olen) && strlen(c) == clen && !memcmp(c, comp, clen)) return 1;
    }
    uint32_t id;
    if (olen < 8 || !hex32(obj, olen, &id) || !configured(ha, id)) return 0;
    for (unsigned e = 0; e < ACC_ENTITIES; e++) {
        const char *c = e == ACC_PROBLEM ? "binary_sensor" : "sensor";
        if (strlen(acc_suffix[e]) == olen - 8 && !memcmp(acc_suffix[e], obj + 8, olen - 8) && strlen(c) == clen &&
            !memcmp(c, comp, clen))
            return 1;
    }
    return 0;
}

static biff_ha_in stale(const char *topic, size_t tlen, biff_ha_msg *reply)
{
    if (tlen >= sizeof reply->topic) return BIFF_HA_IN_NONE;
    memcpy(reply->topic, topic, tlen);
    reply->topic[tlen] = 0;
    reply->payload[0] = 0;
    reply->len = 0;
    reply->retain = 1;
    return BIFF_HA_IN_STALE;
}

biff_ha_in biff_ha_incoming(biff_ha *ha, const char *topic, size_t tlen, const char *payload, size_t plen, int retained,
                            biff_ha_msg *reply)
{
    if (!ha || !ha->dev || !topic || (plen && !payload)) return BIFF_HA_IN_NONE;
    /* MQTT forbids NUL in a topic: such a name would come back cut in a deletion. */
    if (memchr(topic, 0, tlen)) return BIFF_HA_IN_NONE;
    if (is(topic, tlen, ha->dev->base, "/ack")) {
        if (!retained && plen == 5 && !memcmp(payload, "PRESS", 5)) return BIFF_HA_IN_PRESS;
        return BIFF_HA_IN_NONE;
    }
    if (is(topic, tlen, ha->prefix, "/status")) {
        if (plen != 6 || memcmp(payload, "online", 6)) return BIFF_HA_IN_NONE;
        if (ha->connected) biff_ha_republish(ha);
        return BIFF_HA_IN_HA_ONLINE;
    }
    if (plen == 0 || !reply) return BIFF_HA_IN_NONE; /* already deleted (or our own deletion) */
    size_t pos = 0;
    uint32_t id;
    if (eat(topic, tlen, &pos, ha->dev->base) && eat(topic, tlen, &pos, "/account/")) {
        if (tlen - pos == 8 && hex32(topic + pos, 8, &id) && !configured(ha, id)) return stale(topic, tlen, reply);
        return BIFF_HA_IN_NONE;
    }
    pos = 0;
    if (!eat(topic, tlen, &pos, ha->prefix) || !eat(topic, tlen, &pos, "/")) return BIFF_HA_IN_NONE;
    const char *comp = topic + pos;
    const char *slash = memchr(comp, '/', tlen - pos);
    if (!slash) return BIFF_HA_IN_NONE;
    size_t clen = (size_t)(slash - comp);
    pos += clen + 1;
    if (!eat(topic, tlen, &pos, ha->dev->node_id) || !eat(topic, tlen, &pos, "/")) return BIFF_HA_IN_NONE;
    const char *obj = topic + pos;
    if (tlen - pos < 8 || memcmp(topic + tlen - 7, "/config", 7)) return BIFF_HA_IN_NONE;
    size_t olen = tlen - pos - 7;
    if (olen == 0 || memchr(obj, '/', olen)) return BIFF_HA_IN_NONE;
    if (config_current(ha, comp, clen, obj, olen)) return BIFF_HA_IN_NONE;
    return stale(topic, tlen, reply);
}
