/* Run the daemon in the foreground, as systemd's Type=notify expects. */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"

/*
 * Become `name` for good: groups, then group, then user (the other way
 * round, setgid would no longer be allowed).  Then make sure root cannot
 * be had back, since a half-dropped process is worse than none.
 */
static int
cmd_run_drop(const char *name)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		log_error("aftersale run: --user %s: %s", name, errno ?
		    strerror(errno) : "no such user");
		return EX_USAGE;
	}
	if (pw->pw_uid == 0) {
		log_error("aftersale run: --user %s is root; name an unprivileged "
		    "user", name);
		return EX_USAGE;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		log_error("aftersale run: cannot become user %s: %s", name,
		    strerror(errno));
		return EX_OSERR;
	}
	if (setuid(0) != -1 || (pw->pw_gid != 0 && setgid(0) != -1) ||
	    geteuid() != pw->pw_uid ||
	    getegid() != pw->pw_gid) {
		log_error("aftersale run: still able to become root after "
		    "dropping to %s; stopping", name);
		return EX_OSERR;
	}
	return EX_OK;
}

/*
 * No core dumps and no ptrace by other processes of the same user: the
 * process holds the relay password, in libcurl's copies too.  Called
 * again after dropping privileges, since setuid() resets the flag to
 * fs.suid_dumpable.
 */
static int
cmd_run_undumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_error("aftersale run: cannot keep secrets out of core dumps "
		    "(prctl PR_SET_DUMPABLE): %s", strerror(errno));
		return EX_OSERR;
	}
	return EX_OK;
}

int
cmd_run(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONG, { "user", required_argument, NULL, 'u' }, { 0 }
	};
	struct config	*cfg;
	const char	*user = NULL;
	int		 ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT "u:",
	    longopts)) != -1) {
		if (ch != 'u')
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		user = optarg;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = cmd_run_undumpable()) != EX_OK ||
	    (rc = cli_open(cli, CLI_DB_NONE)) != EX_OK)
		return rc;
	if (config_secrets(cli->cfg, 1) == -1)
		return EX_CONFIG;
	if (user == NULL && geteuid() == 0)
		return cli_usage_error(cmd, "refusing to run as root: give --user "
		    "NAME to drop to that user once the configuration and secrets "
		    "are read (under systemd, the unit's DynamicUser= does this)");
	if (user != NULL && geteuid() != 0)
		return cli_usage_error(cmd, "--user needs root; aftersale runs as "
		    "whoever starts it");
	/*
	 * Drop before the database is opened, not after: SQLite creates the
	 * file, its -wal and -shm now and again later (a checkpoint on close
	 * removes the WAL, the next writer makes it again), so all three must
	 * belong to the user the daemon runs as, who must own their folder.
	 * Opened as root, they would be root's, and the next start or a
	 * re-created WAL would fail with "readonly database".
	 */
	if (user != NULL && ((rc = cmd_run_drop(user)) != EX_OK ||
	    (rc = cmd_run_undumpable()) != EX_OK))
		return rc;
	/* The daemon owns the configuration from here, reloads and all. */
	cfg = cli->cfg;
	cli->cfg = NULL;
	return daemon_run(cli->config_path, cfg);
}
