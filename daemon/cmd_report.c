/* Write the report: one HTML page of charts and tables, for a browser or paper. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "report.h"
#include "xmalloc.h"

static int
cmd_report_write(int fd, const struct buf *page)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < page->len) {
		if ((n = write(fd, page->data + off, page->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Write the page beside `path`, then rename it over `path`: whoever reads
 * it (a browser reloading) sees the old page or the new one, never half
 * of one, and after a crash it is one or the other (the folder is synced
 * too).  The page names customers (the top referrers), so it is the
 * owner's alone, 0600 as mkstemp() makes it, as the database is.
 * Returns an exit status.
 */
static int
cmd_report_save(const char *path, const struct buf *page)
{
	char	*tmp = xasprintf("%s.XXXXXX", path), *dir, *slash;
	int	 fd, dfd, rc = EX_OK;

	if ((fd = mkstemp(tmp)) == -1) {
		log_error("cannot create %s: %s", path, strerror(errno));
		free(tmp);
		return EX_CANTCREAT;
	}
	if (cmd_report_write(fd, page) == -1 || fsync(fd) == -1) {
		log_error("cannot write %s: %s", path, strerror(errno));
		rc = EX_IOERR;
	}
	if (close(fd) == -1 && rc == EX_OK) {
		log_error("cannot write %s: %s", path, strerror(errno));
		rc = EX_IOERR;
	}
	if (rc == EX_OK && rename(tmp, path) == -1) {
		log_error("cannot create %s: %s", path, strerror(errno));
		rc = EX_CANTCREAT;
	}
	if (rc != EX_OK) {
		unlink(tmp);
		free(tmp);
		return rc;
	}
	dir = tmp;
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if ((dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY)) !=
	    -1) {
		fsync(dfd);
		close(dfd);
	}
	free(tmp);
	return rc;
}

int
cmd_report(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "html", required_argument, NULL, 'H' },
		{ "by", required_argument, NULL, 'b' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		CLI_LONG,
		{ 0 }
	};
	struct stats_filter	 f = { INT64_MIN, INT64_MAX, NULL };
	struct buf		 page = { NULL, 0, 0 };
	enum series_by		 by = SERIES_MONTH;
	const char		*html = NULL, *since = NULL, *until = NULL;
	int			 ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		switch (ch) {
		case 'H': html = optarg; break;
		case 'b':
			if ((rc = cli_by(cmd, optarg, &by)) != EX_OK)
				return rc;
			break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		default: return ch == CLI_HELP ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if (html == NULL)
		return cli_usage_error(cmd, "--html FILE is missing: the report "
		    "is an HTML page, written there");
	/* Plain dates are read in the configured timezone: load it first. */
	if ((rc = cli_open(cli, CLI_DB_NONE)) != EX_OK ||
	    (rc = cli_window(cmd, since, until, &f.since, &f.until)) != EX_OK ||
	    (rc = cli_open_db(cli, CLI_DB_READ)) != EX_OK)
		return rc;

	rc = report_html(cli->db, cli->cfg, &f, by, (int64_t)time(NULL), &page);
	if (rc == SERIES_TOO_LONG)
		rc = cli_usage_error(cmd, "that is more than %d periods or %d "
		    "monthly cohorts: narrow it with --since and --until, or take "
		    "a longer --by", SERIES_MAX_PERIODS, SERIES_MAX_COHORTS);
	else if (rc != DB_OK)
		rc = cli_status(rc);
	else
		rc = cmd_report_save(html, &page);
	buf_free(&page);
	return rc;
}
