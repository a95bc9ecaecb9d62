/* Provider presets (see biff/oauth.h): kept apart so an image without them links none. */
#include <string.h>

#include "biff/oauth.h"

int biff_oauth_preset(const char *name, biff_oauth_config *cfg)
{
    if (!name || !cfg) return -1;
    if (!strcmp(name, "google")) {
        cfg->device_url = "https://oauth2.googleapis.com/device/code";
        cfg->token_url = "https://oauth2.googleapis.com/token";
        cfg->scope = "https://mail.google.com/";
    } else if (!strcmp(name, "microsoft")) {
        cfg->device_url = "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode";
        cfg->token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
        cfg->scope = "https://outlook.office.com/IMAP.AccessAsUser.All "
                     "https://outlook.office.com/POP.AccessAsUser.All offline_access";
    } else if (strcmp(name, "custom")) {
        return -1;
    }
    return 0;
}
