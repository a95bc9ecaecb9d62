#include "run_events.h"

#include "log.h"
#include "run_mqtt.h"
#include "run_oauth.h"

void run_events_log(const char *name, const biff_agent_event *ev)
{
    switch (ev->kind) {
    case BIFF_AGENT_EV_ACKNOWLEDGED: log_msg(LOG_LVL_INFO, "new mail acknowledged"); break;
    case BIFF_AGENT_EV_ACCOUNT_ERROR:
        log_msg(LOG_LVL_WARN, "account %s: %s: %s", name, biff_error_class_name((biff_error_class)ev->count), ev->text);
        break;
    case BIFF_AGENT_EV_BROKER: run_mqtt_log(ev); break;
    case BIFF_AGENT_EV_AUTH:
    case BIFF_AGENT_EV_AUTH_CODE: run_oauth_log(name, ev); break;
    case BIFF_AGENT_EV_IDLE:
        if (ev->count == 1)
            log_msg(LOG_LVL_INFO, "account %s: idling on %s", name, ev->text);
        else if (ev->count == 3)
            log_msg(LOG_LVL_INFO, "account %s: IDLE paused for another account's check", name);
        else if (ev->count == 0)
            log_msg(LOG_LVL_INFO, "account %s: idle session lost; polling until IDLE works again", name);
        else
            log_msg(LOG_LVL_INFO, "account %s: server does not offer IDLE; polling", name);
        break;
    default: break;
    }
}
