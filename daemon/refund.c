/* A refund as a shop reports it: text checked, then settled against its sale. */

#include <stdio.h>
#include <string.h>

#include "money.h"
#include "refund.h"
#include "timestamp.h"

const char *const refund_field_names[REFUND_NFIELDS] = {
	[REFUND_ORDER_ID] = "order_id",
	[REFUND_AMOUNT] = "amount",
	[REFUND_REFUNDED_AT] = "refunded_at",
	[REFUND_REFUND_ID] = "refund_id",
	[REFUND_REASON] = "reason",
};

/* The longest text each field may hold, in bytes: as a sale's. */
static const size_t refund_field_max[REFUND_NFIELDS] = {
	[REFUND_ORDER_ID] = 128,
	[REFUND_AMOUNT] = 24,
	[REFUND_REFUNDED_AT] = 40,
	[REFUND_REFUND_ID] = 128,
	[REFUND_REASON] = 200,
};

/* The most decimals any currency has (CLF, UYW): the amount's shape. */
#define REFUND_MAX_DECIMALS	4

/*
 * Check fields[] (text as given, NULL where absent; trimmed of spaces in
 * place) as sale_parse_as checks a sale's, a reason being prose, and fill
 * *out.  The amount is only checked for its shape here: how many decimals
 * it may have is the sale's currency's, which refund_settle knows.
 * refunded_at defaults to now.  Returns 0, or -1 with one sentence in err
 * naming the field as names[] does, and *bad (unless NULL) saying which.
 */
int
refund_parse(char *fields[REFUND_NFIELDS],
    const char *const names[REFUND_NFIELDS], int64_t now, struct refund *out,
    char err[SALE_ERROR_LEN], enum refund_field *bad)
{
	const char		*v[REFUND_NFIELDS];
	int64_t			 minor;
	enum refund_field	 unused;

	if (bad == NULL)
		bad = &unused;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < REFUND_NFIELDS; i++) {
		*bad = (enum refund_field)i;
		v[i] = sale_trim(fields[i]);
		if (sale_check_text(v[i], names[i], i == REFUND_REASON,
		    refund_field_max[i], err) == -1)
			return -1;
	}

	*bad = REFUND_ORDER_ID;
	if (*v[REFUND_ORDER_ID] == '\0') {
		snprintf(err, SALE_ERROR_LEN, "%s is missing",
		    names[REFUND_ORDER_ID]);
		return -1;
	}
	*bad = REFUND_AMOUNT;
	if (*v[REFUND_AMOUNT] != '\0' && money_parse(v[REFUND_AMOUNT],
	    REFUND_MAX_DECIMALS, &minor) == -1) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not an amount such "
		    "as 12.34 (no sign: a refund is what goes back)",
		    names[REFUND_AMOUNT], v[REFUND_AMOUNT]);
		return -1;
	}
	*bad = REFUND_REFUNDED_AT;
	out->refunded_at = now;
	if (*v[REFUND_REFUNDED_AT] != '\0' &&
	    timestamp_parse(v[REFUND_REFUNDED_AT], &out->refunded_at) == -1) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not a time such as "
		    "2026-11-20T10:00:00Z, 2026-11-20T11:00:00+01:00 or "
		    "2026-11-20", names[REFUND_REFUNDED_AT],
		    v[REFUND_REFUNDED_AT]);
		return -1;
	}

	snprintf(out->order_id, sizeof(out->order_id), "%s", v[REFUND_ORDER_ID]);
	snprintf(out->amount, sizeof(out->amount), "%s", v[REFUND_AMOUNT]);
	snprintf(out->refund_id, sizeof(out->refund_id), "%s",
	    v[REFUND_REFUND_ID]);
	snprintf(out->reason, sizeof(out->reason), "%s", v[REFUND_REASON]);
	return 0;
}

/*
 * What refund r comes to against sale s: REFUND_RECORD with *amount, or
 * another verdict with one sentence in why naming the order.  An amount
 * says how much goes back now, or, when cumulative, how much has gone
 * back in all; none is all that is left.  Pure.
 */
enum refund_verdict
refund_settle(const struct refund *r, const struct refund_sale *s,
    int64_t *amount, char *why, size_t size)
{
	char	 given[MONEY_TEXT_LEN], left_text[MONEY_TEXT_LEN];
	int64_t	 left = s->amount - s->refunded, minor;
	int	 decimals = money_decimals(s->currency);

	money_format(left, s->currency, left_text);
	if (*r->currency != '\0' && strcmp(r->currency, s->currency) != 0) {
		snprintf(why, size, "order \"%s\" was paid in %s, not %s",
		    s->order_id, s->currency, r->currency);
		return REFUND_BAD_AMOUNT;
	}
	if (*r->amount != '\0' && money_parse(r->amount, decimals, &minor) == -1) {
		snprintf(why, size, "amount \"%s\" is not an amount of %s with "
		    "at most %d decimals, such as %s", r->amount, s->currency,
		    decimals, decimals == 0 ? "1250" : decimals == 3 ? "12.345" :
		    "12.34");
		return REFUND_BAD_AMOUNT;
	}
	if (*r->amount == '\0') {
		minor = left;
	} else if (r->cumulative) {
		if (minor <= s->refunded) {
			snprintf(why, size, "order \"%s\": the %s %s refunded in "
			    "all is recorded already", s->order_id, r->amount,
			    s->currency);
			return REFUND_COVERED;
		}
		minor -= s->refunded;
	} else if (minor == 0) {
		snprintf(why, size, "amount \"%s\" is zero: a refund gives "
		    "something back", r->amount);
		return REFUND_BAD_AMOUNT;
	}
	if (left == 0) {
		if (s->amount == 0)
			snprintf(why, size, "order \"%s\" was free: there is "
			    "nothing to refund", s->order_id);
		else
			snprintf(why, size, "order \"%s\" is refunded in full "
			    "already; nothing is left to refund", s->order_id);
		return REFUND_NOTHING_LEFT;
	}
	if (minor > left) {
		money_format(minor, s->currency, given);
		snprintf(why, size, "order \"%s\": a refund of %s %s is more "
		    "than the %s %s left to refund", s->order_id, given,
		    s->currency, left_text, s->currency);
		return REFUND_TOO_MUCH;
	}
	*amount = minor;
	return REFUND_RECORD;
}
