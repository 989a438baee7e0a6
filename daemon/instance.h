/* One daemon per database: a lock the kernel lets go of when we die. */
#ifndef AFTERSALE_INSTANCE_H
#define AFTERSALE_INSTANCE_H

#define INSTANCE_ERROR	(-1)	/* logged: the lock file cannot be used */
#define INSTANCE_HELD	(-2)	/* logged: another daemon runs */

int	instance_lock(const char *database, int *fd);

#endif
