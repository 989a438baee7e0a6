/* Recording sales from text: one from the command line, many from CSV. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvread.h"
#include "import.h"
#include "log.h"
#include "config.h"
#include "platform.h"
#include "store.h"
#include "text.h"
#include "xmalloc.h"

/* A message about one sale, after "FILE:LINE: " when it came from a file. */
static void import_report(struct import *im, int warning, const char *file,
    long line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Report a bad row or a warning at file:line.  Past IMPORT_MAX_REPORTS a
 * file with a million bad rows (or endless ones on a pipe) would bury the
 * first, and they are counted in the summary instead.
 */
static void
import_report(struct import *im, int warning, const char *file, long line,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	if (++im->reports > IMPORT_MAX_REPORTS + 1)
		return;
	if (im->reports == IMPORT_MAX_REPORTS + 1) {
		log_warnx("%s: more problems are not shown one by one; the "
		    "summary counts them", file ? file : "sale");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (file == NULL && warning)
		log_warnx("%s", msg);
	else if (file == NULL)
		log_error("%s", msg);
	else if (warning)
		log_warnx("%s:%ld: %s", file, line, msg);
	else
		log_error("%s:%ld: %s", file, line, msg);
}

/*
 * Check one sale whose fields the input calls names[] into *sale.
 * Returns IMPORT_OK, or IMPORT_BAD (reported at file:line).
 */
static int
import_parse(struct import *im, char *fields[SALE_NFIELDS],
    const char *const names[SALE_NFIELDS], struct sale *sale, const char *file,
    long line)
{
	char		 err[SALE_ERROR_LEN];
	const char	*order;

	if (sale_parse_as(fields, names, im->currency, im->now, sale, err,
	    NULL) == 0)
		return IMPORT_OK;
	/* Name the order, unless the order id is what is wrong. */
	order = fields[SALE_ORDER_ID] ? fields[SALE_ORDER_ID] : "";
	if (*order != '\0' && text_utf8_valid(order) &&
	    !text_has_control(order) && !text_find_format(order, 0) &&
	    strlen(order) <= 128)
		import_report(im, 0, file, line, "order \"%s\": %s", order, err);
	else
		import_report(im, 0, file, line, "%s", err);
	im->bad++;
	return IMPORT_BAD;
}

/*
 * Store one checked sale.  A referral code that is only a discount code
 * which may be one (`discount`) is not worth a warning when nobody owns
 * it.  Returns IMPORT_OK (stored, or a duplicate), IMPORT_BAD (a
 * conflict, reported at file:line; nothing stored), or a DB_* error.
 */
static int
import_store(struct import *im, const struct sale *sale, int discount,
    const char *file, long line)
{
	struct store_result	res;
	int			rc;

	rc = im->bulk != NULL ?
	    store_bulk_record_sale(im->bulk, sale, im->now, &res) :
	    store_record_sale(im->db, sale, im->now, &res);
	if (rc != DB_OK)
		return rc;

	switch (res.outcome) {
	case STORE_CONFLICT:
		import_report(im, 0, file, line, "order \"%s\" is already recorded "
		    "with a different %s; an order id names one sale (fix the "
		    "data, or give the new sale its own id)", sale->order_id,
		    res.conflict);
		im->bad++;
		return IMPORT_BAD;
	case STORE_DUPLICATE:
		im->duplicates++;
		return IMPORT_OK;
	case STORE_ADDED:
		break;
	}
	im->stored++;
	im->new_customers += res.new_customer;
	im->repeats += res.repeats;
	if (discount && res.referral == REFERRAL_UNKNOWN)
		return IMPORT_OK;
	if (res.referral != REFERRAL_NONE && res.referral != REFERRAL_ACCEPTED) {
		import_report(im, 1, file, line, "order \"%s\": referral code \"%s\" "
		    "ignored: %s; the sale is recorded", sale->order_id,
		    sale->referral_given, store_referral_text(res.referral));
		im->warnings++;
	}
	return IMPORT_OK;
}

/* Check and store one sale given as sale add's fields: one item. */
int
import_record(struct import *im, char *fields[SALE_NFIELDS], const char *file,
    long line)
{
	struct sale	sale;
	int		rc;

	if ((rc = import_parse(im, fields, sale_field_names, &sale, file,
	    line)) != IMPORT_OK)
		return rc;
	return import_store(im, &sale, 0, file, line);
}

/* The columns of Shopify's orders export that make a sale. */
enum import_shopify_column {
	SHOPIFY_NAME,
	SHOPIFY_EMAIL,
	SHOPIFY_FINANCIAL_STATUS,
	SHOPIFY_PAID_AT,
	SHOPIFY_CREATED_AT,
	SHOPIFY_TOTAL,
	SHOPIFY_CURRENCY,
	SHOPIFY_BILLING_NAME,
	SHOPIFY_DISCOUNT_CODE,
	SHOPIFY_LINEITEM_SKU,
	SHOPIFY_LINEITEM_NAME,
	SHOPIFY_LINEITEM_QUANTITY,
	SHOPIFY_LINEITEM_PRICE,
	SHOPIFY_REFUNDED_AMOUNT,
	SHOPIFY_ID,
	SHOPIFY_NCOLUMNS
};

static const char *const import_shopify_columns[SHOPIFY_NCOLUMNS] = {
	[SHOPIFY_NAME] = "Name",
	[SHOPIFY_EMAIL] = "Email",
	[SHOPIFY_FINANCIAL_STATUS] = "Financial Status",
	[SHOPIFY_PAID_AT] = "Paid at",
	[SHOPIFY_CREATED_AT] = "Created at",
	[SHOPIFY_TOTAL] = "Total",
	[SHOPIFY_CURRENCY] = "Currency",
	[SHOPIFY_BILLING_NAME] = "Billing Name",
	[SHOPIFY_DISCOUNT_CODE] = "Discount Code",
	[SHOPIFY_LINEITEM_SKU] = "Lineitem sku",
	[SHOPIFY_LINEITEM_NAME] = "Lineitem name",
	[SHOPIFY_LINEITEM_QUANTITY] = "Lineitem quantity",
	[SHOPIFY_LINEITEM_PRICE] = "Lineitem price",
	[SHOPIFY_REFUNDED_AMOUNT] = "Refunded Amount",
	[SHOPIFY_ID] = "Id",
};

/* What is known of the Shopify order whose rows are being read. */
enum import_order {
	ORDER_NONE,		/* none, or one not to store (unpaid...) */
	ORDER_GOOD,		/* its sale, and its items so far, are good */
	ORDER_BAD,		/* one of its items is not (reported) */
};

/* One CSV file being imported: the header's column -> field map. */
struct import_csv {
	struct import	*im;
	const char	*name;
	int		 header_done;
	int		 columns[CSVREAD_MAX_FIELDS];	/* field, or -1 */
	int		 ncolumns;
	int		 shopify[SHOPIFY_NCOLUMNS];	/* column, or -1 */
	char		*order;		/* Shopify: the order of the last row */
	enum import_order state;	/* Shopify: what became of that order */
	struct sale	 sale;		/* ... its sale, with the items so far */
	long		 sale_line;	/* ... the line of its first row */
	enum platform_payment paid;	/* ... its Financial Status */
	char		 shopify_id[SALE_TEXT_LEN];	/* ... its Id */
	char		 refunded_amount[SALE_TEXT_LEN];	/* ... and that */
};

/* Whether a header is Shopify's export, given to the plain format. */
static int
import_looks_shopify(char **names, int n)
{
	int found = 0;

	for (int i = 0; i < n; i++)
		found += strcmp(names[i], "Financial Status") == 0 ||
		    strcmp(names[i], "Lineitem name") == 0;
	return found == 2;
}

/* Map the header's column names onto sale fields; IMPORT_BAD if we can't. */
static int
import_header(struct import_csv *c, long line, char **names, int n)
{
	long	bad = c->im->bad;
	int	seen[SALE_NFIELDS] = { 0 };

	c->header_done = 1;
	c->ncolumns = n;
	if (import_looks_shopify(names, n)) {
		log_error("%s:%ld: this is Shopify's orders export; import it "
		    "with --format shopify", c->name, line);
		c->im->bad++;
		return IMPORT_BAD;
	}
	for (int i = 0; i < n; i++) {
		const char	*hint = NULL;
		int		 f;

		c->columns[i] = -1;
		for (f = 0; f < SALE_NFIELDS; f++)
			if (strcasecmp(names[i], sale_field_names[f]) == 0)
				break;
		if (f < SALE_NFIELDS && seen[f]++ == 0) {
			c->columns[i] = f;
			continue;
		}
		c->im->bad++;
		if (f < SALE_NFIELDS) {
			log_error("%s:%ld: column \"%s\" appears twice", c->name,
			    line, sale_field_names[f]);
			continue;
		}
		if (!text_utf8_valid(names[i]) || text_has_control(names[i]) ||
		    text_find_format(names[i], 0))
			names[i] = (char *)"?";
		hint = text_closest(names[i], sale_field_names, SALE_NFIELDS);
		log_error("%s:%ld: unknown column \"%.64s\"%s%s%s; the columns "
		    "are order_id, email, name, sku, product, amount, currency, "
		    "sold_at and referral_code", c->name, line, names[i],
		    hint ? " (did you mean \"" : "", hint ? hint : "",
		    hint ? "\"?)" : "");
	}
	if (!seen[SALE_ORDER_ID] || !seen[SALE_EMAIL]) {
		log_error("%s:%ld: the header must name the columns order_id and "
		    "email", c->name, line);
		c->im->bad++;
	}
	return c->im->bad > bad ? IMPORT_BAD : IMPORT_OK;
}

/*
 * After a bad row: go on, or stop reading an all-or-nothing import that
 * has failed many times over already, since nothing of it will be kept
 * (an endless stream of bad rows would otherwise never end).
 */
static int
import_enough(struct import_csv *c, long line)
{
	if (c->im->skip_invalid || c->im->bad < IMPORT_MAX_BAD)
		return IMPORT_OK;
	log_error("%s:%ld: stopping after %ld bad rows; nothing is stored "
	    "(fix them, or give --skip-invalid to keep the good rows)", c->name,
	    line, c->im->bad);
	return IMPORT_BAD;
}

/*
 * Shopify's header: its columns are many (about 80), in Shopify's order;
 * those that make a sale are found by name and the rest left alone.
 */
static int
import_shopify_header(struct import_csv *c, long line, char **names, int n)
{
	long bad = c->im->bad;

	c->header_done = 1;
	c->ncolumns = n;
	for (int k = 0; k < SHOPIFY_NCOLUMNS; k++)
		c->shopify[k] = -1;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < SHOPIFY_NCOLUMNS; k++) {
			if (strcasecmp(names[i], import_shopify_columns[k]) != 0)
				continue;
			if (c->shopify[k] != -1) {
				log_error("%s:%ld: column \"%s\" appears twice",
				    c->name, line, import_shopify_columns[k]);
				c->im->bad++;
			}
			c->shopify[k] = i;
		}
	for (int k = SHOPIFY_NAME; k <= SHOPIFY_CURRENCY; k++) {
		if (c->shopify[k] != -1 || k == SHOPIFY_PAID_AT ||
		    (k == SHOPIFY_CREATED_AT && c->shopify[SHOPIFY_PAID_AT] != -1))
			continue;
		log_error("%s:%ld: no column \"%s\": this is not Shopify's "
		    "orders export as the admin writes it (Orders, Export)%s",
		    c->name, line, import_shopify_columns[k],
		    c->shopify[SHOPIFY_NAME] == -1 ? "; for aftersale's own "
		    "columns, leave out --format shopify" : "");
		c->im->bad++;
	}
	return c->im->bad > bad ? IMPORT_BAD : IMPORT_OK;
}

/*
 * What the export says of an order stored (or found stored) beyond its
 * sale: its numeric Id, kept for the refunds/create webhooks that name
 * the order by it; and for a refunded order, its refunds.  Refunded
 * Amount is all that went back so far, so it records what it adds to
 * what is recorded: the same export again adds nothing, a later one the
 * rest.  Returns IMPORT_OK, IMPORT_BAD (reported) or a DB_* error.
 */
static int
import_shopify_after(struct import_csv *c)
{
	static const char *const names[REFUND_NFIELDS] = {
		[REFUND_ORDER_ID] = "Name", [REFUND_AMOUNT] = "Refunded Amount",
		[REFUND_REFUNDED_AT] = "refunded_at",
		[REFUND_REFUND_ID] = "refund_id", [REFUND_REASON] = "reason",
	};
	struct import			*im = c->im;
	struct refund			 refund;
	struct store_refund_result	 res;
	char				*fields[REFUND_NFIELDS] = { NULL };
	char				 err[SALE_ERROR_LEN];
	int64_t				 sale, customer;
	int				 rc;

	if (*c->shopify_id != '\0') {
		if ((rc = store_find_order(im->db, c->sale.order_id, &sale,
		    &customer)) != 1)
			return rc == 0 ? DB_ERROR : rc;
		if ((rc = store_platform_order_add(im->db,
		    config_source_names[SOURCE_SHOPIFY], c->shopify_id,
		    sale)) != DB_OK)
			return rc;
	}
	if (c->paid != PLATFORM_REFUNDED)
		return IMPORT_OK;
	fields[REFUND_ORDER_ID] = c->sale.order_id;
	fields[REFUND_AMOUNT] = c->refunded_amount;
	if (refund_parse(fields, names, im->now, &refund, err, NULL) == -1) {
		import_report(im, 0, c->name, c->sale_line, "order \"%.128s\": "
		    "%s", c->sale.order_id, err);
		im->bad++;
		return IMPORT_BAD;
	}
	/* Without the column, "refunded" still says: all of it. */
	refund.cumulative = *refund.amount != '\0';
	if ((rc = store_record_refund(im->db, &refund, "import", im->now,
	    &res)) != DB_OK)
		return rc;
	if (res.outcome == STORE_REFUND_ADDED) {
		im->refunds++;
		return IMPORT_OK;
	}
	if (store_refund_known(&res))
		return IMPORT_OK;
	import_report(im, 0, c->name, c->sale_line, "%s", res.why);
	im->bad++;
	return IMPORT_BAD;
}

/*
 * Store the Shopify order whose rows have all been read, unless it is
 * not to be stored.  A conflict is reported and counted in im->bad,
 * which decides how the import ends: the rows after it are read on.
 * Returns IMPORT_OK or a DB_* error.
 */
static int
import_shopify_done(struct import_csv *c)
{
	struct import		*im = c->im, counted = *c->im;
	enum import_order	 state = c->state;
	int			 rc;

	c->state = ORDER_NONE;
	if (state != ORDER_GOOD)
		return IMPORT_OK;
	/* A refund that does not fit takes its order back with it. */
	if ((rc = db_savepoint(im->db)) != DB_OK)
		return rc;
	if ((rc = import_store(im, &c->sale, 1, c->name, c->sale_line)) ==
	    IMPORT_OK)
		rc = import_shopify_after(c);
	if ((rc = db_savepoint_end(im->db, rc)) == IMPORT_BAD) {
		im->stored = counted.stored;
		im->new_customers = counted.new_customers;
		im->repeats = counted.repeats;
		im->duplicates = counted.duplicates;
	}
	return rc == IMPORT_BAD ? IMPORT_OK : rc;
}

/*
 * A row's line item, for the order it belongs to; the rows of an order
 * not to be stored are passed over.  Returns IMPORT_OK or IMPORT_BAD
 * (reported; the order will not be stored).
 */
static int
import_shopify_item(struct import_csv *c, long line, char **v)
{
	static const char *const names[ITEM_NFIELDS] = {
		[ITEM_SKU] = "Lineitem sku",
		[ITEM_PRODUCT] = "Lineitem name",
		[ITEM_QUANTITY] = "Lineitem quantity",
		[ITEM_AMOUNT] = "amount",	/* never given: the price is */
		[ITEM_PRICE] = "Lineitem price",
	};
	char			*fields[ITEM_NFIELDS] = {
		[ITEM_SKU] = v[SHOPIFY_LINEITEM_SKU],
		[ITEM_PRODUCT] = v[SHOPIFY_LINEITEM_NAME],
		[ITEM_QUANTITY] = v[SHOPIFY_LINEITEM_QUANTITY],
		[ITEM_PRICE] = v[SHOPIFY_LINEITEM_PRICE],
	};
	char			 err[SALE_ERROR_LEN];
	enum sale_item_field	 bad;

	if (c->state == ORDER_NONE)
		return IMPORT_OK;
	platform_amount_trim(v[SHOPIFY_LINEITEM_PRICE], c->sale.currency);
	if (sale_item_parse(&c->sale, fields, names, err, &bad) == 0)
		return IMPORT_OK;
	/* Every row past the most items a sale keeps would say so again. */
	if (bad == ITEM_NFIELDS && c->state == ORDER_BAD)
		return IMPORT_OK;
	import_report(c->im, 0, c->name, line, "order \"%s\": %s",
	    c->sale.order_id, err);
	c->im->bad++;
	c->state = ORDER_BAD;
	return IMPORT_BAD;
}

/*
 * One row of Shopify's export: a line item.  An order's first row holds
 * the order's own fields and its first line item; the rows after it with
 * the same Name are its other line items.  The order is stored once its
 * rows are read: at the next order's first row, or at the end.
 */
static int
import_shopify_row(struct import_csv *c, long line, char **values)
{
	struct import	*im = c->im;
	const char	*names[SALE_NFIELDS];
	char		*fields[SALE_NFIELDS] = { NULL };
	char		*v[SHOPIFY_NCOLUMNS];
	char		 when[64], referral[PLATFORM_TEXT_MAX + 1], none[1] = "";
	enum platform_payment paid;
	int		 rc, time_col;

	for (int k = 0; k < SHOPIFY_NCOLUMNS; k++)
		v[k] = c->shopify[k] >= 0 ? values[c->shopify[k]] : none;
	if (c->order != NULL && *v[SHOPIFY_NAME] != '\0' &&
	    strcmp(c->order, v[SHOPIFY_NAME]) == 0)
		return import_shopify_item(c, line, v);
	if ((rc = import_shopify_done(c)) != IMPORT_OK)
		return rc;
	free(c->order);
	c->order = xstrdup(v[SHOPIFY_NAME]);

	paid = platform_shopify_payment(v[SHOPIFY_FINANCIAL_STATUS]);
	if (paid == PLATFORM_UNKNOWN) {
		if (*v[SHOPIFY_FINANCIAL_STATUS] == '\0')
			import_report(im, 0, c->name, line, "order \"%.128s\": "
			    "no Financial Status; the first row of an order has "
			    "it, so this file is not Shopify's export as it comes "
			    "(sorted, or cut?)", v[SHOPIFY_NAME]);
		else
			import_report(im, 0, c->name, line, "order \"%.128s\": "
			    "Financial Status \"%.32s\" is none of Shopify's "
			    "(paid, refunded, partially_refunded, pending, "
			    "authorized, partially_paid, voided, expired)",
			    v[SHOPIFY_NAME], v[SHOPIFY_FINANCIAL_STATUS]);
		im->bad++;
		return IMPORT_BAD;
	}
	if (paid == PLATFORM_UNPAID) {
		im->unpaid++;
		return IMPORT_OK;
	}
	/* A shop's point-of-sale and phone orders may have no address. */
	if (*v[SHOPIFY_EMAIL] == '\0' && *v[SHOPIFY_NAME] != '\0') {
		im->no_email++;
		return IMPORT_OK;
	}

	for (int i = 0; i < SALE_NFIELDS; i++)
		names[i] = sale_field_names[i];
	fields[SALE_ORDER_ID] = v[SHOPIFY_NAME];
	names[SALE_ORDER_ID] = "Name";
	fields[SALE_EMAIL] = v[SHOPIFY_EMAIL];
	names[SALE_EMAIL] = "Email";
	fields[SALE_NAME] = v[SHOPIFY_BILLING_NAME];
	names[SALE_NAME] = "Billing Name";
	platform_amount_trim(v[SHOPIFY_TOTAL], v[SHOPIFY_CURRENCY]);
	fields[SALE_AMOUNT] = v[SHOPIFY_TOTAL];
	names[SALE_AMOUNT] = "Total";
	fields[SALE_CURRENCY] = v[SHOPIFY_CURRENCY];
	names[SALE_CURRENCY] = "Currency";
	time_col = *v[SHOPIFY_PAID_AT] != '\0' ? SHOPIFY_PAID_AT :
	    SHOPIFY_CREATED_AT;
	fields[SALE_SOLD_AT] = v[time_col];
	if (platform_shopify_time(v[time_col], when, sizeof(when)) == 0)
		fields[SALE_SOLD_AT] = when;
	names[SALE_SOLD_AT] = import_shopify_columns[time_col];
	platform_referral_from_codes(v[SHOPIFY_DISCOUNT_CODE], referral,
	    sizeof(referral));
	fields[SALE_REFERRAL_CODE] = referral;
	names[SALE_REFERRAL_CODE] = "Discount Code";

	if ((rc = import_parse(im, fields, names, &c->sale, c->name,
	    line)) != IMPORT_OK)
		return rc;
	c->state = ORDER_GOOD;
	c->sale_line = line;
	c->paid = paid;
	if (strlen(v[SHOPIFY_ID]) >= sizeof(c->shopify_id) ||
	    strlen(v[SHOPIFY_REFUNDED_AMOUNT]) >= sizeof(c->refunded_amount)) {
		import_report(im, 0, c->name, line, "order \"%s\": Id or "
		    "Refunded Amount is over %zu bytes", c->sale.order_id,
		    sizeof(c->shopify_id) - 1);
		im->bad++;
		c->state = ORDER_BAD;
		return IMPORT_BAD;
	}
	snprintf(c->shopify_id, sizeof(c->shopify_id), "%s", v[SHOPIFY_ID]);
	snprintf(c->refunded_amount, sizeof(c->refunded_amount), "%s",
	    v[SHOPIFY_REFUNDED_AMOUNT]);
	return import_shopify_item(c, line, v);
}

static int
import_row(void *arg, long line, enum csvread_problem problem, char **values,
    int n)
{
	struct import_csv	*c = arg;
	char			*fields[SALE_NFIELDS] = { NULL };
	int			 rc;

	if (problem == CSVREAD_OK && !c->header_done)
		return c->im->format == IMPORT_SHOPIFY ?
		    import_shopify_header(c, line, values, n) :
		    import_header(c, line, values, n);
	if (problem != CSVREAD_OK || n != c->ncolumns) {
		if (problem == CSVREAD_NUL)
			import_report(c->im, 0, c->name, line, "a field contains "
			    "a NUL byte");
		else if (problem == CSVREAD_TOO_LONG)
			import_report(c->im, 0, c->name, line, "the record is "
			    "longer than %d bytes or has more than %d fields",
			    CSVREAD_MAX_RECORD, CSVREAD_MAX_FIELDS);
		else
			import_report(c->im, 0, c->name, line, "%d fields, but "
			    "the header has %d columns", n, c->ncolumns);
		c->im->bad++;
		/* A bad header stops the import; a bad row does not. */
		if (!c->header_done)
			return IMPORT_BAD;
		return import_enough(c, line);
	}
	if (c->im->format == IMPORT_SHOPIFY) {
		rc = import_shopify_row(c, line, values);
	} else {
		for (int i = 0; i < n; i++)
			if (c->columns[i] >= 0)
				fields[c->columns[i]] = values[i];
		rc = import_record(c->im, fields, c->name, line);
	}
	return rc == IMPORT_BAD ? import_enough(c, line) : rc;
}

/*
 * Record every sale in a CSV file within one transaction.  With any bad
 * row, all are reported and nothing is kept, unless skip_invalid: then
 * the good rows are kept.  Returns IMPORT_OK, IMPORT_BAD or a DB_* error.
 */
int
import_csv(struct import *im, FILE *fp, const char *name)
{
	struct import_csv	c = { .im = im, .name = name };
	int			rc;

	/*
	 * The indexes a million-row import still updates at random (the
	 * referral codes', and the customer lookups' when the shop was not
	 * empty) add up to about 16 MB: a cache that holds them saves a read
	 * and a write of a page per sale.  With the map of customers
	 * (store_bulk_begin, 32 MB at most) that keeps the peak under 64 MB.
	 */
	if ((rc = db_cache_size(im->db, DB_BULK_CACHE_KIB)) != DB_OK ||
	    (rc = db_begin(im->db)) != DB_OK)
		return rc;
	if ((rc = store_bulk_begin(im->db, &im->bulk)) == DB_OK)
		rc = csvread(fp, name, import_row, &c);
	if (rc == IMPORT_OK)
		rc = import_shopify_done(&c);	/* the last order's rows are read */
	free(c.order);
	if (rc == CSVREAD_MALFORMED) {
		im->bad++;
		rc = IMPORT_BAD;
	} else if (rc == CSVREAD_IOERR) {
		rc = DB_ERROR;	/* the caller's exit status for I/O errors */
	} else if (rc == IMPORT_OK && !c.header_done) {
		log_error("%s: empty file; the first row must name the columns, "
		    "such as order_id,email,amount", name);
		im->bad++;
		rc = IMPORT_BAD;
	} else if (rc == IMPORT_OK && im->bad > 0 && !im->skip_invalid) {
		rc = IMPORT_BAD;
	}
	rc = store_bulk_end(im->bulk, rc);
	im->bulk = NULL;
	if ((rc = db_end(im->db, rc)) == IMPORT_OK)
		db_checkpoint(im->db);
	return rc;
}

void
import_summary(const struct import *im, FILE *out)
{
	fprintf(out, "%ld sale%s stored, %ld new customer%s, %ld repeat "
	    "purchase%s, %ld duplicate%s skipped", im->stored,
	    im->stored == 1 ? "" : "s", im->new_customers,
	    im->new_customers == 1 ? "" : "s", im->repeats,
	    im->repeats == 1 ? "" : "s", im->duplicates,
	    im->duplicates == 1 ? "" : "s");
	if (im->bad > 0)
		fprintf(out, ", %ld bad row%s skipped", im->bad,
		    im->bad == 1 ? "" : "s");
	if (im->unpaid > 0)
		fprintf(out, ", %ld unpaid order%s skipped (pending, voided...)",
		    im->unpaid, im->unpaid == 1 ? "" : "s");
	if (im->no_email > 0)
		fprintf(out, ", %ld order%s without an email address skipped",
		    im->no_email, im->no_email == 1 ? "" : "s");
	if (im->refunds > 0)
		fprintf(out, ", %ld refund%s recorded", im->refunds,
		    im->refunds == 1 ? "" : "s");
	fputc('\n', out);
}
