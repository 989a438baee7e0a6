/* What every subcommand shares: its table entry, options, config, exits. */

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "timestamp.h"

void
cli_usage(const struct cmd *cmd, FILE *out)
{
	fprintf(out, "usage: aftersale [-c FILE] %s %s\n", cmd->name, cmd->usage);
}

/* Report a misuse of the command line; returns the usage exit status. */
int
cli_usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aftersale %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(cmd, stderr);
	return EX_USAGE;
}

/*
 * getopt_long over a subcommand's arguments (argv[0] is its name) that
 * also takes -c FILE and -h itself.  Returns the next option of the
 * command's own, -1 at the end, '?' after a usage error was reported, or
 * CLI_HELP once the usage was printed for --help.
 */
int
cli_getopt(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
    const char *shortopts, const struct option *longopts)
{
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cli->config_path = optarg;
			continue;
		case 'h':
			cli_usage(cmd, stdout);
			return CLI_HELP;
		case '?':
			if (optopt > 0 && optopt < 0x80 && isalpha(optopt))
				cli_usage_error(cmd, "option -%c %s", optopt,
				    strchr(shortopts, optopt) ? "needs a value" :
				    "is unknown");
			else
				cli_usage_error(cmd, "option %s is unknown or "
				    "needs a value", argv[optind - 1]);
			return '?';
		}
		return ch;
	}
	return -1;
}

/*
 * For commands that take no options or arguments of their own.  Returns
 * CLI_CONTINUE, or the exit status to end with (help, usage error).
 */
int
cli_no_arguments(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_LONG, { 0 } };
	int ch;

	if ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1)
		return ch == CLI_HELP ? EX_OK : EX_USAGE;
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	return CLI_CONTINUE;
}

/* The exit status for a DB_* result. */
int
cli_status(int db_rc)
{
	switch (db_rc) {
	case DB_OK:
		return EX_OK;
	case DB_BUSY:
		return EX_TEMPFAIL;
	case DB_NEWER:
	case DB_OLD:
		return EX_UNAVAILABLE;
	default:
		return EX_IOERR;
	}
}

/*
 * Write a command's result, and free it: as JSON when asked or when it
 * has no text form (indented, reals to 10 digits, a final newline), else
 * as `text` writes it.  Returns EX_OK.
 */
int
cli_output(json_t *doc, int json, void (*text)(const json_t *, FILE *))
{
	if (json || text == NULL) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		fputc('\n', stdout);
	} else {
		text(doc, stdout);
	}
	json_decref(doc);
	return EX_OK;
}

/*
 * Load the configuration (every problem reported) and open the database
 * it names as asked: CLI_DB_NONE, CLI_DB_READ or CLI_DB_WRITE.  Returns an
 * exit status.
 */
int
cli_open(struct cli *cli, enum cli_db db)
{
	if (cli->config_path == NULL)
		cli->config_path = config_default_path();
	if (config_load(cli->config_path, &cli->cfg) == -1)
		return EX_CONFIG;
	/* Still one thread: the only safe time to set TZ (timestamp.c). */
	if (timestamp_set_timezone(cli->cfg->timezone) == -1) {
		log_error("%s: cannot use timezone \"%s\"", cli->config_path,
		    cli->cfg->timezone);
		return EX_CONFIG;
	}
	if (db == CLI_DB_NONE)
		return EX_OK;
	return cli_open_db(cli, db);
}

/* Open the configured database for reading or writing: an exit status. */
int
cli_open_db(struct cli *cli, enum cli_db db)
{
	const char	*path = cli->cfg->database_path;
	int		 rc;

	if (db == CLI_DB_READ)
		return cli_status(db_open_readonly(path, &cli->db));
	/* The command line writes facts only: each is durable once said. */
	if ((rc = db_open(path, &cli->db)) == DB_OK)
		rc = db_durable(cli->db, 1);
	return cli_status(rc);
}

void
cli_close(struct cli *cli)
{
	db_close(cli->db);
	config_free(cli->cfg);
	cli->db = NULL;
	cli->cfg = NULL;
}

/* Parse a TIME option value; reports and returns EX_USAGE when bad. */
int
cli_time(const struct cmd *cmd, const char *option, const char *text,
    int64_t *out)
{
	if (timestamp_parse(text, out) == -1)
		return cli_usage_error(cmd, "%s \"%s\" is not a time such as "
		    "2026-11-20T10:00:00Z, 2026-11-20T11:00:00+01:00 or "
		    "2026-11-20", option, text);
	return EX_OK;
}

/*
 * Read --since and --until (NULL when not given) into a window, once
 * cli_open() has set the timezone that plain dates are read in.  Reports
 * and returns EX_USAGE when either is bad or they are the wrong way round.
 */
int
cli_window(const struct cmd *cmd, const char *since, const char *until,
    int64_t *from, int64_t *to)
{
	int rc;

	if ((since && (rc = cli_time(cmd, "--since", since, from)) != EX_OK) ||
	    (until && (rc = cli_time(cmd, "--until", until, to)) != EX_OK))
		return rc;
	if (*from >= *to)
		return cli_usage_error(cmd, "--since must be before --until");
	return EX_OK;
}

/* Parse a --by value; reports and returns EX_USAGE when bad. */
int
cli_by(const struct cmd *cmd, const char *text, enum series_by *by)
{
	if (series_by_parse(text, by) == -1)
		return cli_usage_error(cmd, "--by \"%s\" is not day, week or "
		    "month", text);
	return EX_OK;
}
