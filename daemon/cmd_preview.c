/* Print the message a campaign would send for an order; send nothing. */

#include <time.h>

#include "cli.h"
#include "log.h"
#include "message.h"
#include "store.h"

int
cmd_preview(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "campaign", required_argument, NULL, 'C' },
		{ "order", required_argument, NULL, 'o' },
		CLI_LONG,
		{ 0 }
	};
	const struct campaign	*campaign;
	const char		*name = NULL, *order = NULL;
	struct message_facts	 facts;
	struct buf		 out = { 0 };
	int64_t			 sale, recipient;
	int			 ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		switch (ch) {
		case 'C': name = optarg; break;
		case 'o': order = optarg; break;
		default: return ch == CLI_HELP ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if (name == NULL || order == NULL)
		return cli_usage_error(cmd, "--campaign and --order are required");
	if ((rc = cli_open(cli, CLI_DB_READ)) != EX_OK)
		return rc;
	if ((campaign = config_campaign(cli->cfg, name)) == NULL)
		return cli_usage_error(cmd, "no campaign \"%s\" in %s", name,
		    cli->config_path);

	if ((rc = store_find_order(cli->db, order, &sale, &recipient)) <= 0) {
		if (rc == 0)
			log_error("order \"%s\" is not recorded", order);
		return rc == 0 ? EX_DATAERR : cli_status(rc);
	}
	/* A referral_converted message goes to the friend who referred. */
	if (campaign->on == TRIGGER_REFERRAL_CONVERTED &&
	    (rc = store_referrer_of_sale(cli->db, sale, &recipient)) <= 0) {
		if (rc == 0)
			log_error("order \"%s\" did not convert a referral, so "
			    "campaign \"%s\" has no one to write to", order, name);
		return rc == 0 ? EX_DATAERR : cli_status(rc);
	}
	if ((rc = store_message_facts(cli->db, recipient, sale, &facts)) != DB_OK)
		return rc == STORE_MISSING ? EX_DATAERR : cli_status(rc);
	/* A preview issues no code: which one a message gets is its claim's. */
	if (*campaign->coupon != '\0') {
		snprintf(facts.coupon.code, sizeof(facts.coupon.code), "XXXXXXXX");
		log_warnx("note: the X's stand for the code from coupon pool "
		    "\"%s\" that the message gets when it is built",
		    campaign->coupon);
	}
	/* Signed as `run` would sign it, when the key is there to read. */
	if (config_dkim(cli->cfg, 0) == -1)
		return EX_CONFIG;
	if (cli->cfg->dkim.enabled && cli->cfg->dkim.key == NULL)
		log_warnx("not signed: the DKIM key is the systemd credential "
		    "dkim-key, which only the service sees");
	if (message_build(cli->cfg, campaign, &facts, (int64_t)time(NULL),
	    &out) == -1) {
		buf_free(&out);
		return EX_DATAERR;	/* said why: a stored address, say */
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	return EX_OK;
}
