/* Validate the configuration and every template, reporting all problems. */

#include "cli.h"

int
cmd_check_config(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	int rc;

	if ((rc = cli_no_arguments(cli, cmd, argc, argv)) != CLI_CONTINUE ||
	    (rc = cli_open(cli, CLI_DB_NONE)) != EX_OK)
		return rc;
	/* Refused secrets stop `run`: say so now, not at the next start. */
	if (config_secrets(cli->cfg, 0) == -1)
		return EX_CONFIG;
	printf("%s: ok, %zu campaign%s\n", cli->config_path,
	    cli->cfg->ncampaigns, cli->cfg->ncampaigns == 1 ? "" : "s");
	return EX_OK;
}
