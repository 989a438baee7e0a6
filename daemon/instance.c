/* One daemon per database: a lock the kernel lets go of when we die. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "instance.h"
#include "log.h"

/*
 * The pid holding a flock(2) on the file behind fd, from the kernel's own
 * list (/proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF");
 * 0 when it cannot be told (another pid namespace, no /proc).
 */
static long
instance_holder(int fd)
{
	struct stat	 st;
	FILE		*fp;
	char		 line[256];
	long		 pid = 0, p;
	unsigned int	 major, minor;
	unsigned long	 inode;

	if (fstat(fd, &st) == -1 || (fp = fopen("/proc/locks", "re")) == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, " FLOCK ") == NULL)
			continue;
		if (sscanf(strstr(line, " FLOCK "), " FLOCK %*s %*s %ld "
		    "%x:%x:%lu", &p, &major, &minor, &inode) == 4 &&
		    major == major(st.st_dev) && minor == minor(st.st_dev) &&
		    inode == (unsigned long)st.st_ino && p != (long)getpid())
			pid = p;
	}
	fclose(fp);
	return pid;
}

/*
 * Take an exclusive flock(2) on the database file itself, creating it
 * (0600) if need be.  The lock belongs to the file, not to its name, so a
 * symlink or a hard link to the same database meets the same lock; and it
 * goes with the process, SIGKILL included, so a dead daemon leaves nothing
 * to clean up.  Two daemons on one database would each take the other's
 * claimed messages for a crashed run's and send them again.  SQLite's own
 * locks are fcntl(2) byte ranges, which flock(2) does not touch on a local
 * file system (the only kind SQLite's WAL works on).
 *
 * Returns 0 with the descriptor to keep open for the daemon's life, or
 * INSTANCE_HELD / INSTANCE_ERROR with the reason logged.
 */
int
instance_lock(const char *database, int *fd_out)
{
	long	holder;
	int	fd;

	if ((fd = open(database, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_warn("cannot open database %s (does its folder exist and is "
		    "it writable?)", database);
		return INSTANCE_ERROR;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		*fd_out = fd;
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		log_warn("cannot lock database %s", database);
		close(fd);
		return INSTANCE_ERROR;
	}
	if ((holder = instance_holder(fd)) > 0)
		log_error("another aftersale run (pid %ld) is using %s; stop it "
		    "first, or point `database` at another file", holder,
		    database);
	else
		log_error("another aftersale run is using %s; stop it first, or "
		    "point `database` at another file", database);
	close(fd);
	return INSTANCE_HELD;
}
