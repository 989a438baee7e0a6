/* Validate the configuration and every template, reporting all problems. */

#include "cli.h"

int
cmd_check_config(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_LONG, { 0 } };
	int ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1)
		return ch == CLI_HELP ? EX_OK : EX_USAGE;
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = cli_open(cli, 0)) != EX_OK)
		return rc;
	printf("%s: ok, %zu campaign%s\n", cli->config_path,
	    cli->cfg->ncampaigns, cli->cfg->ncampaigns == 1 ? "" : "s");
	return EX_OK;
}
