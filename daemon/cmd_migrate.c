/* Create the database if need be and apply pending migrations. */

#include "cli.h"
#include "migrations.h"

int
cmd_migrate(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	int rc;

	if ((rc = cli_no_arguments(cli, cmd, argc, argv)) != CLI_CONTINUE ||
	    (rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		return rc;
	printf("%s: schema version %d\n", cli->cfg->database_path,
	    migrations_count);
	return EX_OK;
}
