/* Reward coupons: import a pool's codes, list the pools. */

#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "coupon.h"
#include "import.h"
#include "log.h"

int
cmd_coupon_import(struct cli *cli, const struct cmd *cmd, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "pool", required_argument, NULL, 'p' },
		CLI_LONG,
		{ 0 }
	};
	const char		*path = "-", *name, *pool = NULL;
	struct coupon_import	 res;
	struct stat		 st;
	FILE			*fp = stdin;
	int			 ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch != 'p')
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		pool = optarg;
	}
	if (argc - optind > 1)
		return cli_usage_error(cmd, "one file at a time, please");
	if (optind < argc)
		path = argv[optind];
	if (pool == NULL)
		return cli_usage_error(cmd, "--pool is required: the pool the "
		    "codes go to, which a campaign names with coupon = \"NAME\"");
	if (!coupon_pool_ok(pool))
		return cli_usage_error(cmd, "--pool \"%.64s\" must be letters, "
		    "digits, '-' and '_', at most %d", pool, COUPON_POOL_MAX);
	if (strcmp(path, "-") != 0 && (fp = fopen(path, "r")) == NULL) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	name = fp == stdin ? "<stdin>" : path;
	/* fopen() opens a folder, and only read() fails: the wrong input. */
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		log_error("%s is a folder; give the file of codes to import",
		    name);
		rc = EX_NOINPUT;
		goto out;
	}
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		goto out;

	rc = coupon_import(cli->db, pool, fp, name, (int64_t)time(NULL), &res);
	if (rc == IMPORT_BAD) {
		log_error("%s: %ld bad line%s; nothing was stored", name, res.bad,
		    res.bad == 1 ? "" : "s");
		rc = EX_DATAERR;
		goto out;
	}
	if ((rc = cli_status(rc)) == EX_OK)
		printf("pool \"%s\": %ld code%s stored, %ld already there "
		    "skipped\n", pool, res.stored, res.stored == 1 ? "" : "s",
		    res.known);
out:
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* The pools as coupon list prints them without --json. */
static void
cmd_coupon_print(const json_t *list, FILE *out)
{
	const json_t	*e;
	size_t		 i;

	fprintf(out, "%-24s %8s %8s %9s %8s %7s\n", "pool", "total",
	    "issued", "remaining", "redeemed", "expired");
	json_array_foreach(list, i, e)
		fprintf(out, "%-24s %8lld %8lld %9lld %8lld %7lld\n",
		    json_string_value(json_object_get(e, "pool")),
		    json_integer_value(json_object_get(e, "total")),
		    json_integer_value(json_object_get(e, "issued")),
		    json_integer_value(json_object_get(e, "remaining")),
		    json_integer_value(json_object_get(e, "redeemed")),
		    json_integer_value(json_object_get(e, "expired")));
	if (json_array_size(list) == 0)
		fprintf(out, "no pools yet: aftersale coupon import --pool "
		    "NAME FILE\n");
}

int
cmd_coupon_list(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_LONG,
		{ 0 }
	};
	json_t	*list;
	int	 ch, rc, json = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch != 'j')
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		json = 1;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = cli_open(cli, CLI_DB_READ)) != EX_OK)
		return rc;
	if ((rc = coupon_list(cli->db, cli->cfg, (int64_t)time(NULL),
	    &list)) != DB_OK)
		return cli_status(rc);
	return cli_output(list, json, cmd_coupon_print);
}
