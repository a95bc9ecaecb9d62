/* OAuth2 accounts of the daemon: buffers, the refresh token in the secrets file, log lines. */
#define _DEFAULT_SOURCE
#include "run_oauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "biff/safe_file.h"
#include "biff/uci.h"
#include "log.h"

/* Microsoft's access tokens are up to ~2.5 KB (BIFF_CHECK_OUT_MAX must carry them too), refresh
 * tokens ~1.5 KB; the request holds the refresh token, the client secret and the scope,
 * percent-encoded. */
typedef struct {
    biff_agent_oauth oa;
    biff_oauth_config cfg;
    size_t acct;   /* the account's index */
    uint32_t kept; /* hash of the refresh token this daemon read or wrote (0: none) */
    char access[3072];
    char refresh[2048];
    char req[3584];
} slot;

static slot slots[RUN_OAUTH_MAX]; /* only the slots in use are touched (resident) */
static size_t n_slots;
static const char *secrets;
static const biff_account *names;
static int erase_ok;
/* the secrets file while it is rewritten: as large as the daemon reads it */
static char text[64 * 1024], out[64 * 1024 + 4096], entry[2048];

/* FNV-1a: tells "the token we had" from "one written since", nothing more. */
static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h ? h : 1;
}

static slot *slot_of(size_t i)
{
    for (size_t k = 0; k < n_slots; k++)
        if (slots[k].acct == i) return &slots[k];
    return NULL;
}

void run_oauth_init(const char *secrets_path, const biff_account *accts, int keep_erase)
{
    secrets = secrets_path;
    names = accts;
    erase_ok = keep_erase;
}

int run_oauth_account(biff_agent *ag, size_t i, const biff_account *a, biff_agent_account_cfg *acfg, const char *stored)
{
    if (n_slots >= RUN_OAUTH_MAX) {
        log_msg(LOG_LVL_ERROR, "account %s: more than %u OAuth2 accounts; not checked", a->name,
                (unsigned)RUN_OAUTH_MAX);
        return -1;
    }
    slot *s = &slots[n_slots];
    /* the config has filled a preset's endpoints and scope in already */
    s->cfg = (biff_oauth_config){ a->device_url, a->token_url, a->client_id, a->client_secret, a->scope };
    acfg->oauth = &s->oa;
    if (biff_agent_oauth_account(ag, i, &s->oa, &s->cfg, s->access, sizeof s->access, s->refresh, sizeof s->refresh,
                                 s->req, sizeof s->req, stored) != BIFF_AGENT_OK) {
        acfg->oauth = NULL;
        log_msg(LOG_LVL_ERROR, "account %s: OAuth2 settings unusable (or the stored refresh token too long)", a->name);
        return -1;
    }
    s->acct = i;
    s->kept = stored[0] ? hash(stored) : 0;
    n_slots++;
    return 0;
}

void run_oauth_clear(void)
{
    for (size_t k = 0; k < n_slots; k++) {
        biff_oauth_clear(&slots[k].oa.o);
        explicit_bzero(&slots[k], sizeof slots[k]);
    }
    n_slots = 0;
}

/* Write data to path atomically and durably: a temporary file, synced, renamed over it. */
static biff_sfile_status write_durable(const char *path, const char *data, size_t len)
{
    char tmp[512];
    int fd;
    biff_sfile_status st = biff_sfile_temp(path, 0600, tmp, sizeof tmp, &fd);
    if (st != BIFF_SFILE_OK) return st;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    int ok = off == len && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(tmp);
        return BIFF_SFILE_E_IO;
    }
    return biff_sfile_replace(tmp, path, 1);
}

int run_oauth_save(void *ctx, size_t i, const char *token)
{
    (void)ctx;
    const char *name = names[i].name;
    char why[300];
    size_t len = 0, olen = 0;
    int rc = -1;
    if (!token[0] && !erase_ok) return 0;
    if (!secrets || !secrets[0]) {
        log_msg(LOG_LVL_ERROR, "account %s: no secrets file to keep the refresh token in", name);
        return -1;
    }
    biff_sfile_status fs = biff_sfile_read_private(secrets, text, sizeof text, &len);
    if (fs == BIFF_SFILE_E_IO && errno == ENOENT) {
        len = 0;
        fs = BIFF_SFILE_OK;
    }
    if (fs != BIFF_SFILE_OK) {
        log_msg(LOG_LVL_ERROR, "account %s: cannot keep the refresh token: %s: %s", name, secrets,
                biff_sfile_explain(fs, secrets, why, sizeof why));
    } else if (!token[0] && biff_uci_secret(text, len, name, entry, sizeof entry) == BIFF_UCI_OK &&
               (!slot_of(i) || hash(entry) != slot_of(i)->kept)) {
        /* `tinybiff auth` wrote a new token since: that one is not ours to erase */
        log_msg(LOG_LVL_WARN, "account %s: %s holds a newer refresh token; reload to use it", name, secrets);
        rc = 0;
    } else if (biff_uci_secret_set(text, len, name, token, out, sizeof out, &olen) != BIFF_UCI_OK) {
        log_msg(LOG_LVL_ERROR, "account %s: cannot keep the refresh token: %s is too large, or the name unusable", name,
                secrets);
    } else if ((fs = write_durable(secrets, out, olen)) != BIFF_SFILE_OK) {
        log_msg(LOG_LVL_ERROR, "account %s: cannot keep the refresh token: %s: %s", name, secrets,
                biff_sfile_explain(fs, secrets, why, sizeof why));
    } else {
        log_msg(LOG_LVL_INFO,
                token[0] ? "account %s: refresh token kept in %s" : "account %s: refresh token removed from %s", name,
                secrets);
        if (slot_of(i)) slot_of(i)->kept = token[0] ? hash(token) : 0;
        rc = 0;
    }
    explicit_bzero(entry, sizeof entry);
    explicit_bzero(text, len);
    explicit_bzero(out, olen);
    return rc;
}

void run_oauth_log(const char *name, const biff_agent_event *ev)
{
    if (ev->kind == BIFF_AGENT_EV_AUTH_CODE) {
        log_msg(LOG_LVL_WARN, "account %s: to authorize, open %s and enter %s (the code expires in %u s)", name,
                biff_oauth_verification_uri(ev->oauth), ev->text, (unsigned)ev->count);
        return;
    }
    const char *more = biff_oauth_detail(ev->oauth);
    log_msg(ev->count == BIFF_AUTH_OK || ev->count == BIFF_AUTH_WORKING ? LOG_LVL_INFO : LOG_LVL_WARN,
            "account %s: authorization: %s%s%s", name, ev->text, *more ? ": " : "", more);
}
