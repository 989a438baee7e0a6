/* Run the daemon in the foreground, as systemd's Type=notify expects. */

#include "cli.h"
#include "daemon.h"

int
cmd_run(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	struct config	*cfg;
	int		 rc;

	if ((rc = cli_no_arguments(cli, cmd, argc, argv)) != CLI_CONTINUE ||
	    (rc = cli_open(cli, CLI_DB_NONE)) != EX_OK)
		return rc;
	if (config_secrets(cli->cfg, 1) == -1)
		return EX_CONFIG;
	/* The daemon owns the configuration from here, reloads and all. */
	cfg = cli->cfg;
	cli->cfg = NULL;
	return daemon_run(cli->config_path, cfg);
}
