/* Record sales ("sale add", "sale import" from CSV) and refunds. */

#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "import.h"
#include "log.h"
#include "money.h"
#include "store.h"

static void
cmd_sale_begin(struct cli *cli, struct import *im)
{
	memset(im, 0, sizeof(*im));
	im->db = cli->db;
	im->currency = cli->cfg->shop.currency;
	im->now = (int64_t)time(NULL);
}

/* The exit status after an import_*() result. */
static int
cmd_sale_status(int rc)
{
	if (rc == IMPORT_BAD)
		return EX_DATAERR;
	return cli_status(rc);
}

#define OPT_FIELD	0x100	/* long-only options, one per sale field */

int
cmd_sale_add(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "order", required_argument, NULL, OPT_FIELD + SALE_ORDER_ID },
		{ "email", required_argument, NULL, OPT_FIELD + SALE_EMAIL },
		{ "name", required_argument, NULL, OPT_FIELD + SALE_NAME },
		{ "sku", required_argument, NULL, OPT_FIELD + SALE_SKU },
		{ "product", required_argument, NULL, OPT_FIELD + SALE_PRODUCT },
		{ "amount", required_argument, NULL, OPT_FIELD + SALE_AMOUNT },
		{ "currency", required_argument, NULL, OPT_FIELD + SALE_CURRENCY },
		{ "at", required_argument, NULL, OPT_FIELD + SALE_SOLD_AT },
		{ "referral", required_argument, NULL, OPT_FIELD + SALE_REFERRAL_CODE },
		CLI_LONG,
		{ 0 }
	};
	char		*fields[SALE_NFIELDS] = { NULL };
	struct import	 im;
	int		 ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch < OPT_FIELD || ch >= OPT_FIELD + SALE_NFIELDS)
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		fields[ch - OPT_FIELD] = optarg;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if (fields[SALE_ORDER_ID] == NULL || fields[SALE_EMAIL] == NULL)
		return cli_usage_error(cmd, "--order and --email are required");
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		return rc;

	cmd_sale_begin(cli, &im);
	if ((rc = db_begin(cli->db)) != DB_OK)
		return cli_status(rc);
	if ((rc = db_end(cli->db, import_record(&im, fields, NULL, 0))) !=
	    IMPORT_OK)
		return cmd_sale_status(rc);
	import_summary(&im, stdout);
	return EX_OK;
}

int
cmd_sale_import(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "skip-invalid", no_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		CLI_LONG,
		{ 0 }
	};
	const char	*path = "-";
	struct import	 im;
	FILE		*fp = stdin;
	struct stat	 st;
	enum import_format format = IMPORT_AFTERSALE;
	int		 ch, rc, skip_invalid = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch == 's') {
			skip_invalid = 1;
		} else if (ch == 'f' && strcmp(optarg, "aftersale") == 0) {
			format = IMPORT_AFTERSALE;
		} else if (ch == 'f' && strcmp(optarg, "shopify") == 0) {
			format = IMPORT_SHOPIFY;
		} else if (ch == 'f') {
			return cli_usage_error(cmd, "unknown format \"%s\": the "
			    "formats are aftersale (our columns) and shopify "
			    "(Shopify's orders export)", optarg);
		} else {
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(cmd, "one file at a time, please");
	if (optind < argc)
		path = argv[optind];
	if (strcmp(path, "-") != 0 && (fp = fopen(path, "r")) == NULL) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	/*
	 * fopen() opens a folder for reading and only read() fails, which
	 * would look like trouble with the disk; it is the wrong input.
	 */
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		log_error("%s is a folder; give the CSV file to import",
		    fp == stdin ? "<stdin>" : path);
		rc = EX_NOINPUT;
		goto out;
	}
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		goto out;

	cmd_sale_begin(cli, &im);
	im.skip_invalid = skip_invalid;
	im.format = format;
	rc = import_csv(&im, fp, fp == stdin ? "<stdin>" : path);
	if (rc == IMPORT_BAD) {
		log_error("%s: %ld bad row%s; nothing was stored (fix %s, or "
		    "use --skip-invalid to store the good rows)",
		    fp == stdin ? "<stdin>" : path, im.bad, im.bad == 1 ? "" : "s",
		    im.bad == 1 ? "it" : "them");
	} else if (rc == IMPORT_OK) {
		import_summary(&im, stdout);
	}
	rc = cmd_sale_status(rc);
out:
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* What a refund recorded came to, in a line. */
static void
cmd_sale_refunded(const struct store_refund_result *res, FILE *out)
{
	char amount[MONEY_TEXT_LEN], refunded[MONEY_TEXT_LEN];
	char total[MONEY_TEXT_LEN];

	money_format(res->amount, res->currency, amount);
	money_format(res->refunded, res->currency, refunded);
	money_format(res->total, res->currency, total);
	if (res->refunded == res->total)
		fprintf(out, "order \"%s\": %s %s refunded; it is refunded in "
		    "full and counts as no order, and its waiting messages are "
		    "cancelled but where their campaign says on_refund = "
		    "\"keep\"\n", res->order_id, amount, res->currency);
	else
		fprintf(out, "order \"%s\": %s %s refunded; %s of %s %s "
		    "refunded in all\n", res->order_id, amount, res->currency,
		    refunded, total, res->currency);
}

int
cmd_sale_refund(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "order", required_argument, NULL, OPT_FIELD + REFUND_ORDER_ID },
		{ "amount", required_argument, NULL, OPT_FIELD + REFUND_AMOUNT },
		{ "at", required_argument, NULL, OPT_FIELD + REFUND_REFUNDED_AT },
		{ "id", required_argument, NULL, OPT_FIELD + REFUND_REFUND_ID },
		{ "reason", required_argument, NULL, OPT_FIELD + REFUND_REASON },
		CLI_LONG,
		{ 0 }
	};
	char				*fields[REFUND_NFIELDS] = { NULL };
	char				 err[SALE_ERROR_LEN];
	struct refund			 refund;
	struct store_refund_result	 res;
	int64_t				 now = (int64_t)time(NULL);
	int				 ch, rc;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch < OPT_FIELD || ch >= OPT_FIELD + REFUND_NFIELDS)
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		fields[ch - OPT_FIELD] = optarg;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if (fields[REFUND_ORDER_ID] == NULL)
		return cli_usage_error(cmd, "--order is required");
	/* Plain dates are read in the configured timezone: load it first. */
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		return rc;
	if (refund_parse(fields, refund_field_names, now, &refund, err,
	    NULL) == -1) {
		log_error("%s; nothing was stored", err);
		return EX_DATAERR;
	}

	if ((rc = db_begin(cli->db)) != DB_OK)
		return cli_status(rc);
	rc = store_record_refund(cli->db, &refund, "cli", now, &res);
	if (rc == DB_OK && res.outcome != STORE_REFUND_ADDED)
		rc = IMPORT_BAD;	/* nothing to keep */
	if ((rc = db_end(cli->db, rc)) < 0)
		return cli_status(rc);
	switch (res.outcome) {
	case STORE_REFUND_ADDED:
		cmd_sale_refunded(&res, stdout);
		return EX_OK;
	case STORE_REFUND_DUPLICATE:
		printf("%s\n", res.why);
		return EX_OK;
	default:
		log_error("%s; nothing was stored", res.why);
		return EX_DATAERR;
	}
}
