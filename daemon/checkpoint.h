/* The daemon's WAL checkpoints, on a libuv worker instead of the loop. */
#ifndef AFTERSALE_CHECKPOINT_H
#define AFTERSALE_CHECKPOINT_H

#include <uv.h>

#include "db.h"

struct checkpoint;

int	checkpoint_start(struct checkpoint **c, uv_loop_t *loop, struct db *db);
void	checkpoint_stop(struct checkpoint *c, struct db *db);

#endif
