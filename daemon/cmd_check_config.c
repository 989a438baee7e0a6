/* Validate the configuration and every template, reporting all problems. */

#include <string.h>

#include "cli.h"

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
	return EX_OK;
}
