/* The daemon: one libuv loop that plans, schedules and sends. */
#ifndef AFTERSALE_DAEMON_H
#define AFTERSALE_DAEMON_H

#include "config.h"

int	daemon_run(const char *config_path, struct config *cfg);

#endif
