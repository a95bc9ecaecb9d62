#ifndef TINYBIFF_CMD_RUN_H
#define TINYBIFF_CMD_RUN_H

/** `tinybiff run`: argv[0] is "run". Returns the process exit status. */
int cmd_run(int argc, char **argv);

#endif
