/* Validate the configuration and every template, reporting all problems. */

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coupon.h"
#include "log.h"

/*
 * What the signatures will be, and the DNS record that lets receivers
 * check them, split into strings of 255 as DNS TXT records want.  A key
 * that is the service's credential is not there to look at outside it.
 */
static void
check_config_dkim(const struct config *cfg)
{
	const char *record;

	if (cfg->dkim.key == NULL) {
		printf("dkim: the key is the systemd credential dkim-key, which "
		    "only the service sees; not checked\n");
		return;
	}
	printf("dkim: signs %s as d=%s s=%s, relaxed/relaxed; publish:\n",
	    dkimkey_describe(cfg->dkim.key), cfg->dkim.signing_domain,
	    cfg->dkim.selector);
	printf("%s._domainkey.%s. IN TXT (", cfg->dkim.selector,
	    cfg->dkim.signing_domain);
	for (record = dkimkey_record(cfg->dkim.key); *record != '\0';) {
		size_t n = strnlen(record, 255);

		printf(" \"%.*s\"", (int)n, record);
		record += n;
	}
	printf(" )\n");
}

/*
 * Pools live in the database, not in the configuration: when the
 * database can be read, say which pools the campaigns name have no free
 * code, as the daemon would at start.  A warning, not an error: codes may
 * be imported after the configuration is written.
 */
static void
check_config_coupons(struct cli *cli)
{
	json_t	*list, *e;
	size_t	 i, j;

	for (i = 0; i < cli->cfg->ncampaigns; i++)
		if (*cli->cfg->campaigns[i].coupon != '\0')
			break;
	/* No pool named, or no database yet (a new install): nothing to say. */
	if (i == cli->cfg->ncampaigns ||
	    access(cli->cfg->database_path, R_OK) == -1 ||
	    cli_open_db(cli, CLI_DB_READ) != EX_OK ||
	    coupon_list(cli->db, cli->cfg, (int64_t)time(NULL), &list) != DB_OK)
		return;
	for (i = 0; i < cli->cfg->ncampaigns; i++) {
		const struct campaign *c = &cli->cfg->campaigns[i];

		json_array_foreach(list, j, e)
			if (*c->coupon != '\0' && strcmp(c->coupon,
			    json_string_value(json_object_get(e, "pool"))) == 0 &&
			    json_integer_value(json_object_get(e,
			    "remaining")) == 0)
				log_warnx("%s:%d: campaign \"%s\": coupon pool "
				    "\"%s\" has no free code in %s; its messages "
				    "will wait (aftersale coupon import --pool %s "
				    "FILE)", cli->config_path, c->line, c->name,
				    c->coupon, cli->cfg->database_path, c->coupon);
	}
	json_decref(list);
}

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
	if (cli->cfg->dkim.enabled)
		check_config_dkim(cli->cfg);
	check_config_coupons(cli);
	return EX_OK;
}
