/* Recording sales from text: one from the command line, many from CSV. */
#ifndef AFTERSALE_IMPORT_H
#define AFTERSALE_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "sale.h"

#define IMPORT_OK	0
#define IMPORT_BAD	1	/* bad input, reported; nothing stored */

#define IMPORT_MAX_REPORTS	100	/* problems shown one by one */
#define IMPORT_MAX_BAD		1000	/* all-or-nothing: stop reading here */
/* What the CSV is: our columns, or a shop's own export as it comes. */
enum import_format {
	IMPORT_AFTERSALE,
	IMPORT_SHOPIFY,		/* Shopify's orders export */
};

struct import {
	struct db	*db;
	const char	*currency;	/* for sales that name none */
	int64_t		 now;
	int		 skip_invalid;
	enum import_format format;
	long		 stored;
	long		 new_customers;
	long		 repeats;
	long		 duplicates;
	long		 bad;
	long		 warnings;
	long		 reports;	/* problems reported so far */
	long		 unpaid;	/* orders skipped: not paid (Shopify) */
	long		 no_email;	/* orders skipped: no address to write to */
	long		 refunds;	/* recorded (Shopify's Refunded Amount) */
	struct store_bulk *bulk;	/* import_csv's, while it runs */
};

int	import_record(struct import *im, char *fields[SALE_NFIELDS],
	    const char *file, long line);
int	import_csv(struct import *im, FILE *fp, const char *name);
void	import_summary(const struct import *im, FILE *out);

#endif
