#ifndef TINYBIFF_CMD_CHECK_H
#define TINYBIFF_CMD_CHECK_H

/** `tinybiff check`: argv[0] is "check". Returns the process exit status. */
int cmd_check(int argc, char **argv);

#endif
