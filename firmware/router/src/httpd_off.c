/* httpd.h for builds without the page (BIFF_WITH_PAGE=OFF): a router shows the status in its own
 * UI (LuCI reads status_json, `tinybiff status` asks the daemon), so no HTTP server is linked. */
#include "httpd.h"

#include "log.h"

int httpd_start(const char *bind, const char (*hosts)[64], size_t n_hosts, httpd_shared *sh, unsigned *port)
{
    (void)hosts;
    (void)n_hosts;
    (void)sh;
    (void)port;
    log_msg(LOG_LVL_INFO,
            "status_bind %s ignored: this build has no status page (status_json and "
            "`tinybiff status` have the same figures)",
            bind);
    return -1;
}

void httpd_stop(void) {}
