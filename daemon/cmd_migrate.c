/* Create the database if need be and apply pending migrations. */

#include "cli.h"
#include "migrations.h"

int
cmd_migrate(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_LONG, { 0 } };
	int ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1)
		return ch == CLI_HELP ? EX_OK : EX_USAGE;
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = cli_open(cli, 1)) != EX_OK)
		return rc;
	printf("%s: schema version %d\n", cli->cfg->database_path,
	    migrations_count);
	return EX_OK;
}
