#ifndef TINYBIFF_CMD_AUTH_H
#define TINYBIFF_CMD_AUTH_H

/** `tinybiff auth ACCOUNT -c FILE`: argv[0] is "auth". Returns the process exit status. */
int cmd_auth(int argc, char **argv);

#endif
