/* `tinybiff ack` and `tinybiff status`: ask the running daemon through its control socket. */
#ifndef TINYBIFF_CMD_CTL_H
#define TINYBIFF_CMD_CTL_H

/** argv[0] is "ack" or "status". Returns the process exit code. */
int cmd_ctl(int argc, char **argv);

#endif
