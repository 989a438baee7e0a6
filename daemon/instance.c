/* One daemon per database: a lock the kernel lets go of when we die. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "instance.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The pid written by the holder, or 0 when it cannot be read (it may be
 * between taking the lock and writing it).
 */
static long
instance_holder(int fd)
{
	char	buf[32];
	ssize_t	n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * Take DATABASE.lock with flock(2) and write our pid in it.  The lock goes
 * with the process, SIGKILL included, so a dead daemon leaves nothing to
 * clean up; the pid is only there to name the holder.  Two daemons on one
 * database would each take the other's claimed messages for a crashed
 * run's and send them again.
 *
 * Returns the descriptor to keep open for the daemon's life, or -1 with
 * the reason logged: INSTANCE_HELD when another daemon holds it.
 */
int
instance_lock(const char *database, int *fd_out)
{
	char	*path = NULL, pid[32];
	long	 holder;
	int	 fd, len;

	path = xasprintf("%s.lock", database);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		log_warn("cannot open %s, the lock that keeps a second daemon "
		    "off this database", path);
		free(path);
		return INSTANCE_ERROR;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			if ((holder = instance_holder(fd)) > 0)
				log_error("another aftersale run (pid %ld) is "
				    "using %s; stop it first, or point "
				    "`database` at another file", holder,
				    database);
			else
				log_error("another aftersale run is using %s; "
				    "stop it first, or point `database` at "
				    "another file", database);
			close(fd);
			free(path);
			return INSTANCE_HELD;
		}
		log_warn("cannot lock %s", path);
		close(fd);
		free(path);
		return INSTANCE_ERROR;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, len, 0) != len)
		log_warn("cannot write our pid to %s", path);
	free(path);
	*fd_out = fd;
	return 0;
}
