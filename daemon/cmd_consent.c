/* Consent: "unsubscribe EMAIL | --token TOKEN" and "resubscribe EMAIL". */

#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "store.h"

/* Shared by both commands: find the customer, change consent, commit. */
static int
cmd_consent(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
    int subscribed)
{
	static const struct option longopts[] = {
		{ "token", required_argument, NULL, 't' },
		CLI_LONG,
		{ 0 }
	};
	const char	*token = NULL, *email = NULL;
	int64_t		 id;
	int		 ch, rc = DB_OK, found, changed = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch == CLI_HELP)
			return EX_OK;
		if (ch != 't')
			return EX_USAGE;
		if (subscribed)
			return cli_usage_error(cmd, "--token is for unsubscribe");
		token = optarg;
	}
	if (argc - optind == 1 && token == NULL)
		email = argv[optind];
	else if (argc - optind != 0 || token == NULL)
		return cli_usage_error(cmd, subscribed ? "give one address" :
		    "give one address, or --token TOKEN");
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		return rc;

	if ((rc = db_begin(cli->db)) != DB_OK)
		return cli_status(rc);
	if ((found = store_find_customer(cli->db, email, token, &id)) == 1)
		rc = store_set_consent(cli->db, id, subscribed,
		    (int64_t)time(NULL), &changed);
	else
		rc = found == 0 ? 1 : found;	/* 1: no such customer */
	if ((rc = db_end(cli->db, rc)) != DB_OK) {
		if (rc < 0)
			return cli_status(rc);
		log_error("no customer has %s \"%s\"", email ? "the address" :
		    "the unsubscribe token", email ? email : token);
		return EX_DATAERR;
	}
	if (subscribed)
		printf("%s resubscribed\n", email);
	else
		printf("%s unsubscribed; %d waiting message%s suppressed\n",
		    email ? email : "customer", changed, changed == 1 ? "" : "s");
	return EX_OK;
}

int
cmd_unsubscribe(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	return cmd_consent(cli, cmd, argc, argv, 0);
}

int
cmd_resubscribe(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	return cmd_consent(cli, cmd, argc, argv, 1);
}
