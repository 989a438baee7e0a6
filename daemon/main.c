/* aftersale: post-sale follow-up and referral campaigns.  The command table. */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "xmalloc.h"

static const struct cmd commands[] = {
	{ "run", "[--user NAME]",
	    "run the daemon in the foreground", cmd_run },
	{ "check-config", "",
	    "validate the configuration and every template", cmd_check_config },
	{ "migrate", "",
	    "create the database and apply pending migrations", cmd_migrate },
	{ "sale add", "--order ID --email ADDR [--name N] [--sku S] "
	    "[--product P] [--amount 12.34] [--currency EUR] [--at TIME] "
	    "[--referral CODE]",
	    "record one sale", cmd_sale_add },
	{ "sale import", "[FILE|-] [--skip-invalid] [--format aftersale|shopify]",
	    "record sales from CSV", cmd_sale_import },
	{ "sale refund", "--order ID [--amount 12.34] [--at TIME] [--id REFUND_ID] "
	    "[--reason TEXT]",
	    "record a refund of a sale, by default of all that is left",
	    cmd_sale_refund },
	{ "coupon import", "--pool NAME [FILE|-]",
	    "add reward codes to a pool: one a line, or code,expires_at",
	    cmd_coupon_import },
	{ "coupon list", "[--json]",
	    "the coupon pools: codes issued, remaining and redeemed",
	    cmd_coupon_list },
	{ "preview", "--campaign NAME --order ID",
	    "print the message a campaign would send; send nothing",
	    cmd_preview },
	/* Before "customer": the first entry whose words match is taken. */
	{ "customer export", "EMAIL",
	    "everything stored about a customer, as JSON",
	    cmd_customer_export },
	{ "customer erase", "EMAIL [--yes]",
	    "erase a customer's personal data; without --yes, say what would go",
	    cmd_customer_erase },
	{ "customer", "EMAIL [--json]",
	    "one customer: sales, referrals, consent, messages", cmd_customer },
	{ "referral list", "[--state pending|review|confirmed|voided] [--json]",
	    "list referrals, with their state", cmd_referral_list },
	{ "referral approve", "ID",
	    "let a referral in review go on: pending, or confirmed after its "
	    "hold", cmd_referral_approve },
	{ "referral reject", "ID",
	    "void a referral in review", cmd_referral_reject },
	{ "unsubscribe", "EMAIL | --token TOKEN",
	    "stop all mail to a customer; what waits is suppressed",
	    cmd_unsubscribe },
	{ "resubscribe", "EMAIL",
	    "let a customer who unsubscribed or bounced get mail again",
	    cmd_resubscribe },
	{ "stats", "[--json] [--since TIME] [--until TIME] [--campaign NAME] "
	    "[--by day|week|month | --cohorts]",
	    "print the numbers, or the same over time", cmd_stats },
	{ "report", "--html FILE [--by day|week|month] [--since TIME] "
	    "[--until TIME]",
	    "write the charts: one self-contained HTML page", cmd_report },
	{ "queue", "[--state STATE] [--campaign NAME] [--limit N] [--json]",
	    "list messages, next due first", cmd_queue },
	{ "retry", "ID... | --failed",
	    "put failed or deferred messages back in the queue, due now",
	    cmd_retry },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fprintf(out, "usage: aftersale [-c FILE] COMMAND [ARGS]\n"
	    "       aftersale --version\n\n"
	    "Options:\n"
	    "  -c, --config FILE  configuration (default %s;\n"
	    "                     AFTERSALE_CONFIG overrides the default)\n"
	    "  -h, --help         this help; COMMAND --help for a command's\n\n"
	    "Commands:\n", config_default_path());
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
}

/*
 * A command's name is one or two words ("stats", "sale add").  Returns
 * the entry and how many words of argv it took, or NULL.
 */
static const struct cmd *
find_command(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char	*name = commands[i].name;
		const char	*space = strchr(name, ' ');
		size_t		 len = space ? (size_t)(space - name) : strlen(name);

		if (strncmp(argv[0], name, len) != 0 || argv[0][len] != '\0')
			continue;
		if (space == NULL) {
			*words = 1;
			return &commands[i];
		}
		if (argc > 1 && strcmp(argv[1], space + 1) == 0) {
			*words = 2;
			return &commands[i];
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct cli		 cli = { NULL, NULL, NULL };
	const struct cmd	*cmd;
	int			 ch, words, rc;

	log_init(LOG_STYLE_PLAIN);
	/* One policy for running out of memory, jansson's included. */
	json_set_alloc_funcs(xmalloc, free);
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cli.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("aftersale %s\n", PACKAGE_VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((cmd = find_command(argc, argv, &words)) == NULL) {
		fprintf(stderr, "aftersale: unknown command \"%s%s%s\"; "
		    "see aftersale --help\n", argv[0], argc > 1 &&
		    strcmp(argv[0], "sale") == 0 ? " " : "",
		    argc > 1 && strcmp(argv[0], "sale") == 0 ? argv[1] : "");
		return EX_USAGE;
	}
	/* The command sees its own name as argv[0], as getopt expects. */
	argc -= words - 1;
	argv += words - 1;
	optind = 0;	/* GNU getopt: start afresh */
	rc = cmd->exec(&cli, cmd, argc, argv);
	cli_close(&cli);
	return rc;
}
