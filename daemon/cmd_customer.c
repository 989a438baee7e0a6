/* Show one customer: sales, referral code and referrals, messages. */

#include "cli.h"
#include "customer.h"
#include "log.h"

int
cmd_customer(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_LONG,
		{ 0 }
	};
	json_t	*c;
	int	 ch, rc, json = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch != 'j')
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		json = 1;
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "give one address");
	if ((rc = cli_open(cli, CLI_DB_READ)) != EX_OK)
		return rc;
	if ((rc = customer_collect(cli->db, argv[optind], &c)) <= 0) {
		if (rc == 0)
			log_error("no customer has the address \"%s\"", argv[optind]);
		return rc == 0 ? EX_DATAERR : cli_status(rc);
	}
	if (json) {
		json_dumpf(c, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		customer_print(c, stdout);
	}
	json_decref(c);
	return EX_OK;
}
