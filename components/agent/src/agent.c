/* The agent's recording policy: see biff/agent.h for the definitions it implements. */
#include "biff/agent.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const char write_failed_text[] =
    "cannot write the sync state (flash full or failing): mail acknowledged since may show as "
    "new again after a restart";

static void emit(biff_agent *ag, uint8_t kind, size_t i, uint32_t count, const char *text)
{
    if (!ag->port || !ag->port->event) return;
    biff_agent_event ev = { .kind = kind, .account = (uint16_t)i, .count = count, .text = text };
    ag->port->event(ag->port->ctx, &ev);
}

static uint32_t wall(const biff_agent *ag)
{
    return ag->port && ag->port->wall_time ? ag->port->wall_time(ag->port->ctx) : 0;
}

/* Every flash write goes through here: a failure is the device's problem until one succeeds. */
static void wrote(biff_agent *ag, int ok)
{
    if (ok == !ag->write_failed) return;
    ag->write_failed = (uint8_t)!ok;
    emit(ag, BIFF_AGENT_EV_PROBLEM, 0, 0, ok ? "" : write_failed_text);
}

static void save_folder(biff_agent *ag, size_t i, unsigned f, biff_sync_folder *rec, const biff_sync_folder *before)
{
    /* last_success alone changes every check: it is written only along with a real change. */
    rec->last_success = before->last_success;
    /* After a failed write RAM is ahead of flash: write until a write succeeds again. */
    if (memcmp(before, rec, sizeof *rec) == 0 && !ag->write_failed) return;
    rec->last_success = wall(ag);
    if (ag->store) wrote(ag, biff_sync_folder_save(ag->store, (unsigned)i, f, rec) == BIFF_SYNC_OK);
}

static void save_uidset(biff_agent *ag, size_t i, const biff_sync_uidset *set)
{
    if (ag->store) wrote(ag, biff_sync_pop3_save(ag->store, (unsigned)i, set) == BIFF_SYNC_OK);
}

/* The agent's own flash records: n <= 3 little-endian words. */
static int word_load(biff_agent *ag, uint16_t key, uint32_t *w, size_t n)
{
    uint8_t b[12];
    size_t len = 0;
    if (!ag->store || biff_store_read(ag->store, key, b, sizeof b, &len) != BIFF_STORE_OK || len != 4 * n) return 0;
    for (size_t k = 0; k < n; k++)
        w[k] = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 | (uint32_t)b[4 * k + 2] << 16 |
               (uint32_t)b[4 * k + 3] << 24;
    return 1;
}

static void word_save(biff_agent *ag, uint16_t key, const uint32_t *w, size_t n)
{
    uint8_t b[12];
    for (size_t k = 0; k < n; k++)
        for (unsigned j = 0; j < 4; j++) b[4 * k + j] = (uint8_t)(w[k] >> (8 * j));
    if (ag->store) wrote(ag, biff_store_write(ag->store, key, b, 4 * n) == BIFF_STORE_OK);
}

static uint32_t crc_word(uint32_t crc, uint32_t w)
{
    const uint8_t b[4] = { (uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24) };
    return biff_store_crc32(crc, b, sizeof b);
}

/* What the account's "new" counts from: the acknowledged baseline (the same bytes on every
 * CPU, like every record, so a state image moves between a router's and a PC's). */
static uint32_t baseline_sig(const biff_agent_mailbox *mb)
{
    uint32_t c = 0;
    if (mb->proto == BIFF_AGENT_POP3) {
        const biff_sync_uidset *a = &mb->u.pop3.acked;
        c = crc_word(c, a->count);
        for (unsigned k = 0; k < a->count; k++) c = crc_word(c, a->digest[k]);
        return c;
    }
    for (unsigned f = 0; f < mb->n_folders; f++) {
        c = crc_word(c, mb->u.imap.rec[f].uidvalidity);
        c = crc_word(c, mb->u.imap.rec[f].uidnext_acked);
    }
    return c;
}

biff_agent_status biff_agent_init(biff_agent *ag, const biff_agent_port *port, biff_store *store,
                                  biff_agent_mailbox *mb, biff_status_account *model, size_t n, int announce)
{
    if (!ag || (n && (!mb || !model)) || n > BIFF_SYNC_MAX_ACCOUNTS) return BIFF_AGENT_E_ARG;
    memset(ag, 0, sizeof *ag);
    ag->port = port;
    ag->store = store;
    ag->mb = mb;
    ag->model = model;
    ag->n = n;
    ag->announce = (uint8_t)(announce != 0);
    atomic_init(&ag->requests, 0u);
    if (n) {
        memset(mb, 0, n * sizeof *mb);
        memset(model, 0, n * sizeof *model);
    }
    return BIFF_AGENT_OK;
}

uint32_t biff_agent_account_id(int imap, const char *user, const char *host, unsigned port)
{
    char id[512];
    int n = snprintf(id, sizeof id, "%s://%s@%s:%u", imap ? "imap" : "pop3", user, host, port);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof id) n = sizeof id - 1;
    /* Host names are case-insensitive: the same server is the same account. */
    for (char *p = strchr(id, '@'); p && *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return biff_sync_id(id, (size_t)n);
}

biff_agent_status biff_agent_account(biff_agent *ag, size_t i, uint8_t proto, uint32_t account_id, const char *name,
                                     const char *const *folders, unsigned n_folders)
{
    if (!ag || i >= ag->n || proto > BIFF_AGENT_POP3) return BIFF_AGENT_E_ARG;
    if (proto == BIFF_AGENT_IMAP && (n_folders == 0 || n_folders > BIFF_AGENT_MAX_FOLDERS || !folders))
        return BIFF_AGENT_E_ARG;
    biff_agent_mailbox *mb = &ag->mb[i];
    biff_status_account *m = &ag->model[i];
    memset(mb, 0, sizeof *mb);
    memset(m, 0, sizeof *m);
    mb->account_id = account_id;
    mb->proto = proto;
    mb->n_folders = (uint8_t)(proto == BIFF_AGENT_IMAP ? n_folders : 1u);
    snprintf(m->name, sizeof m->name, "%s", name ? name : "");
    m->proto = proto;
    m->n_folders = mb->n_folders;
    int fresh = 0;
    biff_sync_status ss = BIFF_SYNC_FRESH;
    if (proto == BIFF_AGENT_IMAP) {
        for (unsigned f = 0; f < n_folders; f++) {
            snprintf(m->folder[f].name, sizeof m->folder[f].name, "%s", folders[f]);
            uint32_t fid = biff_sync_id(folders[f], strlen(folders[f]));
            biff_sync_folder *rec = &mb->u.imap.rec[f];
            ss = ag->store ? biff_sync_folder_load(ag->store, (unsigned)i, f, account_id, fid, rec) : BIFF_SYNC_FRESH;
            if (ss != BIFF_SYNC_OK) {
                memset(rec, 0, sizeof *rec);
                rec->account_id = account_id;
                rec->folder_id = fid;
                fresh = 1;
            }
        }
    } else {
        snprintf(m->folder[0].name, sizeof m->folder[0].name, "INBOX");
        ss = ag->store ? biff_sync_folder_load(ag->store, (unsigned)i, 0, account_id, 0, &mb->u.pop3.rec)
                       : BIFF_SYNC_FRESH;
        if (ss != BIFF_SYNC_OK) {
            memset(&mb->u.pop3.rec, 0, sizeof mb->u.pop3.rec);
            mb->u.pop3.rec.account_id = account_id;
        }
        ss = ag->store ? biff_sync_pop3_load(ag->store, (unsigned)i, account_id, &mb->u.pop3.acked) : BIFF_SYNC_FRESH;
        if (ss != BIFF_SYNC_OK) {
            /* No baseline: the first listing records one (bound to this account). */
            memset(&mb->u.pop3.acked, 0, sizeof mb->u.pop3.acked);
            mb->u.pop3.acked.account_id = account_id;
            fresh = 1;
        }
    }
    if (ag->announce && i < BIFF_AGENT_ANNOUNCE_MAX) {
        uint32_t w[3]; /* account id, count, the baseline it counts from */
        mb->announced_sig = baseline_sig(mb);
        if (word_load(ag, BIFF_AGENT_KEY_ANNOUNCED(i), w, 3) && w[0] == account_id && w[2] == mb->announced_sig) {
            mb->announced = w[1];
        }
    }
    return ss == BIFF_SYNC_E_STORE ? BIFF_AGENT_E_STORE : fresh ? BIFF_AGENT_FRESH : BIFF_AGENT_OK;
}

/*
 * Announcements: the count already announced is kept in flash with the baseline it counts
 * from, so a power cut between an acknowledge's writes cannot pair a new baseline with an old
 * count (which would swallow the next mail) or the reverse (which would announce old mail
 * again). The count is written before the event is raised: a cut in between loses only an
 * event the dead device could not have shown anyway, and the next start raises it.
 */
static void announce(biff_agent *ag, size_t i)
{
    if (!ag->announce) return;
    biff_agent_mailbox *mb = &ag->mb[i];
    uint32_t fresh = biff_status_total(&ag->model[i], 1), sig = baseline_sig(mb);
    uint32_t more = fresh > mb->announced ? fresh - mb->announced : 0;
    if (fresh == mb->announced && sig == mb->announced_sig) return;
    mb->announced = fresh;
    mb->announced_sig = sig;
    const uint32_t w[3] = { mb->account_id, fresh, sig };
    if (i < BIFF_AGENT_ANNOUNCE_MAX) word_save(ag, BIFF_AGENT_KEY_ANNOUNCED(i), w, 3);
    if (more) emit(ag, BIFF_AGENT_EV_NEW_MAIL, i, more, NULL);
}

/* The account's counts changed: show them, announce what was never announced. */
static void counts_changed(biff_agent *ag, size_t i)
{
    emit(ag, BIFF_AGENT_EV_COUNTS, i, biff_status_total(&ag->model[i], 1), NULL);
    announce(ag, i);
}

/* The model shows a folder's counts; a change is an event, and new mail is announced once. */
static void show_counts(biff_agent *ag, size_t i, unsigned f, uint32_t unseen, uint32_t fresh)
{
    biff_status_folder *mf = &ag->model[i].folder[f];
    int changed = mf->unseen != unseen || mf->fresh != fresh;
    mf->unseen = unseen;
    mf->fresh = fresh;
    if (changed)
        counts_changed(ag, i);
    else
        announce(ag, i);
}

uint32_t biff_agent_imap_folder(biff_agent *ag, size_t i, unsigned f, const biff_imap_folder_result *r)
{
    if (!ag || i >= ag->n || !r || ag->mb[i].proto != BIFF_AGENT_IMAP || f >= ag->mb[i].n_folders) return 0;
    biff_agent_mailbox *mb = &ag->mb[i];
    biff_sync_folder *rec = &mb->u.imap.rec[f];
    biff_sync_folder before = *rec;
    if (rec->uidnext_acked == 0 || rec->uidvalidity != r->uidvalidity) {
        biff_sync_imap_ack(rec, r->uidvalidity, r->uidnext, r->highestmodseq); /* baseline */
    }
    uint32_t fresh = biff_sync_imap_new(rec, r->uidvalidity, r->uidnext, r->messages);
    rec->unseen = r->unseen;
    rec->last_error = BIFF_ERR_NONE;
    save_folder(ag, i, f, rec, &before);
    mb->u.imap.uidvalidity[f] = r->uidvalidity;
    mb->u.imap.uidnext[f] = r->uidnext;
    mb->u.imap.modseq[f] = r->highestmodseq;
    mb->seen |= (uint8_t)(1u << f);
    show_counts(ag, i, f, r->unseen, fresh);
    return fresh;
}

biff_agent_status biff_agent_pop3_begin(biff_agent *ag, size_t i, biff_sync_pop3_scan *scan)
{
    if (!ag || i >= ag->n || !scan || ag->mb[i].proto != BIFF_AGENT_POP3) return BIFF_AGENT_E_ARG;
    biff_agent_mailbox *mb = &ag->mb[i];
    biff_sync_pop3_begin(scan, &mb->u.pop3.acked);
    scan->next.account_id = mb->account_id;
    mb->scan = scan;
    mb->listing = 1;
    return BIFF_AGENT_OK;
}

void biff_agent_pop3_uid(biff_agent *ag, size_t i, const char *uid, size_t len)
{
    if (!ag || i >= ag->n || !ag->mb[i].listing) return;
    biff_sync_pop3_add(ag->mb[i].scan, biff_sync_id(uid, len));
}

uint32_t biff_agent_pop3_end(biff_agent *ag, size_t i, uint32_t messages, int uidl)
{
    if (!ag || i >= ag->n || ag->mb[i].proto != BIFF_AGENT_POP3) return 0;
    biff_agent_mailbox *mb = &ag->mb[i];
    uint32_t fresh = 0;
    if (uidl && mb->listing) {
        fresh = biff_sync_pop3_end(mb->scan);
        mb->u.pop3.last = mb->scan->next;
        mb->seen = 1;
        if (!mb->u.pop3.acked.valid) { /* the first listing is the baseline */
            mb->u.pop3.acked = mb->u.pop3.last;
            save_uidset(ag, i, &mb->u.pop3.acked);
            fresh = 0;
        }
    }
    mb->listing = 0;
    mb->scan = NULL;
    biff_sync_folder *rec = &mb->u.pop3.rec;
    biff_sync_folder before = *rec;
    rec->unseen = messages;
    rec->last_error = BIFF_ERR_NONE;
    save_folder(ag, i, 0, rec, &before);
    show_counts(ag, i, 0, messages, fresh);
    return fresh;
}

void biff_agent_check_done(biff_agent *ag, size_t i, biff_error_class err, const char *detail)
{
    if (!ag || i >= ag->n) return;
    biff_agent_mailbox *mb = &ag->mb[i];
    biff_status_account *m = &ag->model[i];
    mb->listing = 0;
    mb->scan = NULL;
    m->last_check = wall(ag);
    m->err = (uint8_t)err;
    m->state = err == BIFF_ERR_NONE ? BIFF_STATE_OK : BIFF_STATE_ERROR;
    snprintf(m->detail, sizeof m->detail, "%s", err != BIFF_ERR_NONE && detail ? detail : "");
    if (err == BIFF_ERR_NONE) return;
    for (unsigned f = 0; f < mb->n_folders; f++) {
        biff_sync_folder *rec = mb->proto == BIFF_AGENT_IMAP ? &mb->u.imap.rec[f] : &mb->u.pop3.rec;
        biff_sync_folder before = *rec;
        rec->last_error = err;
        save_folder(ag, i, f, rec, &before);
    }
    emit(ag, BIFF_AGENT_EV_ACCOUNT_ERROR, i, err, m->detail);
}

static int acknowledge_one(biff_agent *ag, size_t i)
{
    biff_agent_mailbox *mb = &ag->mb[i];
    biff_status_account *m = &ag->model[i];
    int any = 0;
    if (mb->proto == BIFF_AGENT_IMAP) {
        for (unsigned f = 0; f < mb->n_folders; f++) {
            if (!m->folder[f].fresh || !(mb->seen & (1u << f))) continue;
            biff_sync_folder *rec = &mb->u.imap.rec[f];
            biff_sync_folder before = *rec;
            /* What the page showed is what is acknowledged: the last STATUS seen. */
            biff_sync_imap_ack(rec, mb->u.imap.uidvalidity[f], mb->u.imap.uidnext[f], mb->u.imap.modseq[f]);
            save_folder(ag, i, f, rec, &before);
            m->folder[f].fresh = 0;
            any = 1;
        }
    } else if (m->folder[0].fresh && mb->seen) {
        mb->u.pop3.acked = mb->u.pop3.last;
        save_uidset(ag, i, &mb->u.pop3.acked);
        m->folder[0].fresh = 0;
        /* A listing under way compared with the set from before: what it listed, and lists from
         * now on, counts against what was just acknowledged, or the mail would come back. */
        if (mb->listing) biff_sync_pop3_rebase(mb->scan, &mb->u.pop3.acked);
        any = 1;
    }
    if (any) counts_changed(ag, i);
    return any;
}

void biff_agent_acknowledge(biff_agent *ag, size_t i)
{
    if (!ag) return;
    int any = 0;
    for (size_t k = 0; k < ag->n; k++) {
        if (i == SIZE_MAX || k == i) any |= acknowledge_one(ag, k);
    }
    emit(ag, BIFF_AGENT_EV_ACKNOWLEDGED, i == SIZE_MAX ? 0 : i, (uint32_t)any, NULL);
}

void biff_agent_request(biff_agent *ag, uint32_t req)
{
    if (ag) atomic_fetch_or_explicit(&ag->requests, req, memory_order_release);
}

uint32_t biff_agent_service(biff_agent *ag)
{
    if (!ag) return 0;
    uint32_t req = atomic_exchange_explicit(&ag->requests, 0u, memory_order_acquire);
    if (req & BIFF_AGENT_REQ_ACK) biff_agent_acknowledge(ag, SIZE_MAX);
    return req;
}

const char *biff_agent_problem(const biff_agent *ag)
{
    return ag && ag->write_failed ? write_failed_text : NULL;
}

uint32_t biff_agent_floor_load(biff_agent *ag, uint32_t build_time)
{
    if (!ag) return build_time;
    if (build_time > ag->clock_floor) ag->clock_floor = build_time;
    uint32_t t;
    if (word_load(ag, BIFF_AGENT_KEY_CLOCK_FLOOR, &t, 1) && t > ag->clock_floor) {
        ag->clock_floor = t;
        ag->floor_from_cert = 1;
    }
    return ag->clock_floor;
}

int biff_agent_floor_raise(biff_agent *ag, uint32_t t)
{
    if (!ag || t <= ag->clock_floor) return 0;
    ag->clock_floor = t;
    ag->floor_from_cert = 1;
    word_save(ag, BIFF_AGENT_KEY_CLOCK_FLOOR, &t, 1);
    return 1;
}
