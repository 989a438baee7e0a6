/* Print the numbers, as tables or as DESIGN's JSON; over time with --by. */

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "series.h"
#include "stats.h"

int
cmd_stats(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "campaign", required_argument, NULL, 'C' },
		{ "by", required_argument, NULL, 'b' },
		{ "cohorts", no_argument, NULL, 'k' },
		CLI_LONG,
		{ 0 }
	};
	struct stats_filter	 f = { INT64_MIN, INT64_MAX, NULL };
	const char		*since = NULL, *until = NULL;
	enum series_by		 by = SERIES_MONTH;
	json_t			*stats;
	void			(*print)(const json_t *, FILE *) = stats_print;
	int			 ch, rc, json = 0, series = 0, cohorts = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'C': f.campaign = optarg; break;
		case 'b':
			if ((rc = cli_by(cmd, optarg, &by)) != EX_OK)
				return rc;
			series = 1;
			break;
		case 'k': cohorts = 1; break;
		default: return ch == CLI_HELP ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if (series && cohorts)
		return cli_usage_error(cmd, "--by and --cohorts are two tables; "
		    "ask for one at a time");
	if (cohorts && f.campaign != NULL)
		return cli_usage_error(cmd, "--cohorts counts purchases, not "
		    "messages: it takes no --campaign");
	/* Plain dates are read in the configured timezone: load it first. */
	if ((rc = cli_open(cli, CLI_DB_NONE)) != EX_OK)
		return rc;
	if ((rc = cli_window(cmd, since, until, &f.since, &f.until)) != EX_OK)
		return rc;
	if (f.campaign != NULL && config_campaign(cli->cfg, f.campaign) == NULL)
		return cli_usage_error(cmd, "no campaign \"%s\" in %s",
		    f.campaign, cli->config_path);
	if ((rc = cli_open_db(cli, CLI_DB_READ)) != EX_OK)
		return rc;

	if (series) {
		rc = series_collect(cli->db, cli->cfg, &f, by, &stats);
		print = series_print;
	} else if (cohorts) {
		rc = series_cohorts(cli->db, &f, &stats);
		print = series_print_cohorts;
	} else
		rc = stats_collect(cli->db, cli->cfg, &f, (int64_t)time(NULL),
		    &stats);
	if (rc == SERIES_TOO_LONG)
		return cli_usage_error(cmd, "that is more than %d %s: narrow "
		    "it with --since and --until%s", series ? SERIES_MAX_PERIODS :
		    SERIES_MAX_COHORTS, series ? "periods" : "monthly cohorts",
		    series ? ", or take a longer --by" : "");
	if (rc != DB_OK)
		return cli_status(rc);
	return cli_output(stats, json, print);
}
