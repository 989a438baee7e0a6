/* Print the numbers, as tables or as DESIGN's JSON. */

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "stats.h"

int
cmd_stats(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "campaign", required_argument, NULL, 'C' },
		CLI_LONG,
		{ 0 }
	};
	struct stats_filter	 f = { INT64_MIN, INT64_MAX, NULL };
	const char		*since = NULL, *until = NULL;
	json_t			*stats;
	int			 ch, rc, json = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'C': f.campaign = optarg; break;
		default: return ch == CLI_HELP ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	/* Plain dates are read in the configured timezone: load it first. */
	if ((rc = cli_open(cli, CLI_DB_NONE)) != EX_OK)
		return rc;
	if ((since && (rc = cli_time(cmd, "--since", since, &f.since)) != EX_OK) ||
	    (until && (rc = cli_time(cmd, "--until", until, &f.until)) != EX_OK))
		return rc;
	if (f.since >= f.until)
		return cli_usage_error(cmd, "--since must be before --until");
	if (f.campaign != NULL && config_campaign(cli->cfg, f.campaign) == NULL)
		return cli_usage_error(cmd, "no campaign \"%s\" in %s",
		    f.campaign, cli->config_path);
	if ((rc = cli_open_db(cli, CLI_DB_READ)) != EX_OK)
		return rc;

	if ((rc = stats_collect(cli->db, cli->cfg, &f, (int64_t)time(NULL),
	    &stats)) != DB_OK)
		return cli_status(rc);
	if (json)
		json_dumpf(stats, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	else
		stats_print(stats, stdout);
	if (json)
		fputc('\n', stdout);
	json_decref(stats);
	return EX_OK;
}
