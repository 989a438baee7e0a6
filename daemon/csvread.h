/* CSV records from a stream, each with the line it starts on. */
#ifndef AFTERSALE_CSVREAD_H
#define AFTERSALE_CSVREAD_H

#include <stdio.h>

#define CSVREAD_MAX_FIELDS	128	/* Shopify's orders export has about 80 */
#define CSVREAD_MAX_RECORD	(64 * 1024)	/* bytes in one record */

/* Why a record could not be read; it is still handed over, with no fields. */
enum csvread_problem {
	CSVREAD_OK,
	CSVREAD_TOO_LONG,	/* over the record or field-count limit */
	CSVREAD_NUL,		/* a NUL byte in a field */
};

/*
 * Called for each record: fields are NUL-terminated and live until the
 * callback returns.  A non-zero return stops the reading and is passed on.
 */
typedef int csvread_fn(void *arg, long line, enum csvread_problem problem,
    char **fields, int nfields);

int	csvread(FILE *fp, const char *name, csvread_fn *fn, void *arg);

#define CSVREAD_MALFORMED	(-1000)	/* reported; the file cannot be read on */
#define CSVREAD_IOERR		(-1001)	/* reported */

#endif
