/* One customer: shown, exported whole, or erased. */

#include <time.h>

#include "cli.h"
#include "customer.h"
#include "email.h"
#include "log.h"
#include "privacy.h"
#include "store.h"

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
	return cli_output(c, json, customer_print);
}

/*
 * The address a data-rights command names.  Erased customers' rows hold
 * a placeholder that is no address (store.h): only an address can find
 * anyone.  Returns EX_OK, or EX_DATAERR (reported).
 */
static int
cmd_customer_address(const char *email)
{
	const char *why;

	if ((why = email_check(email)) == NULL)
		return EX_OK;
	log_error("\"%s\" is not an address (%s), so no customer has it",
	    email, why);
	return EX_DATAERR;
}

/* customer export EMAIL: everything stored about a customer, as JSON. */
int
cmd_customer_export(struct cli *cli, const struct cmd *cmd, int argc,
    char **argv)
{
	static const struct option longopts[] = { CLI_LONG, { 0 } };
	json_t	*x;
	int	 ch, rc;

	if ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1)
		return ch == CLI_HELP ? EX_OK : EX_USAGE;
	if (argc - optind != 1)
		return cli_usage_error(cmd, "give one address");
	if ((rc = cmd_customer_address(argv[optind])) != EX_OK ||
	    (rc = cli_open(cli, CLI_DB_READ)) != EX_OK)
		return rc;
	if ((rc = privacy_export(cli->db, argv[optind], (int64_t)time(NULL),
	    &x)) <= 0) {
		if (rc == 0)
			log_error("no customer has the address \"%s\"",
			    argv[optind]);
		return rc == 0 ? EX_DATAERR : cli_status(rc);
	}
	return cli_output(x, 1, NULL);
}

static void
cmd_customer_erased(int64_t customer, const struct privacy_erasure *e,
    int done)
{
	printf("customer %lld %s:\n"
	    "  its address, name, referral code and unsubscribe token\n"
	    "  %lld message bod%s, %lld day%s of referral clicks\n"
	    "  %lld waiting message%s, cancelled\n"
	    "  %lld sale%s kept, without a name, for the stats\n",
	    (long long)customer, done ? "erased" : "would be erased",
	    (long long)e->bodies, e->bodies == 1 ? "y" : "ies",
	    (long long)e->click_days, e->click_days == 1 ? "" : "s",
	    (long long)e->cancelled, e->cancelled == 1 ? "" : "s",
	    (long long)e->sales, e->sales == 1 ? "" : "s");
	if (!done)
		printf("nothing changed: add --yes to erase, which cannot be "
		    "undone\n");
}

/*
 * customer erase EMAIL [--yes]: a customer's personal data goes, in one
 * transaction; without --yes only what would go is said.  What is
 * printed names the customer by number only: it may end up in a log.
 */
int
cmd_customer_erase(struct cli *cli, const struct cmd *cmd, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "yes", no_argument, NULL, 'y' },
		CLI_LONG,
		{ 0 }
	};
	struct privacy_erasure	 e;
	int64_t			 id;
	int			 ch, rc, found, yes = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch != 'y')
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		yes = 1;
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "give one address");
	if ((rc = cmd_customer_address(argv[optind])) != EX_OK ||
	    (rc = cli_open(cli, yes ? CLI_DB_WRITE : CLI_DB_READ)) != EX_OK)
		return rc;

	if ((rc = yes ? db_begin(cli->db) : db_begin_read(cli->db)) != DB_OK)
		return cli_status(rc);
	if ((found = store_find_customer(cli->db, argv[optind], NULL, &id)) != 1)
		rc = found == 0 ? 1 : found;	/* 1: no such customer */
	else if (yes)
		rc = privacy_erase(cli->db, id, (int64_t)time(NULL), &e);
	else
		rc = privacy_count(cli->db, id, &e);
	if ((rc = db_end(cli->db, rc)) != DB_OK) {
		if (rc < 0)
			return cli_status(rc);
		log_error("no customer has the address \"%s\"", argv[optind]);
		return EX_DATAERR;
	}
	cmd_customer_erased(id, &e, yes);
	if (yes && (rc = privacy_scrub(cli->db)) != DB_OK)
		return cli_status(rc);
	return EX_OK;
}
