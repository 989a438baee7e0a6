/* CSV records from a stream, each with the line it starts on. */

#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "log.h"

struct csvread {
	csvread_fn	*fn;
	void		*arg;
	long		 line;		/* physical line being fed */
	long		 record_line;	/* where the current record started */
	int		 in_record;
	char		*buf;		/* the record's fields, NUL-separated */
	size_t		 len, cap;
	size_t		 offsets[CSVREAD_MAX_FIELDS];
	int		 nfields;
	enum csvread_problem problem;
	int		 rc;		/* the callback's, once non-zero */
};

static int
csvread_grow(struct csvread *r, size_t need)
{
	size_t	 ncap = r->cap ? r->cap : 4096;
	char	*nbuf;

	while (ncap < need)
		ncap *= 2;
	if ((nbuf = realloc(r->buf, ncap)) == NULL)
		return -1;
	r->buf = nbuf;
	r->cap = ncap;
	return 0;
}

static void
csvread_field(void *s, size_t len, void *data)
{
	struct csvread *r = data;

	if (r->problem != CSVREAD_OK)
		return;
	if (r->nfields == CSVREAD_MAX_FIELDS || r->len + len + 1 > CSVREAD_MAX_RECORD ||
	    (r->len + len + 1 > r->cap && csvread_grow(r, r->len + len + 1) == -1)) {
		r->problem = CSVREAD_TOO_LONG;
		return;
	}
	if (len > 0 && memchr(s, '\0', len) != NULL)
		r->problem = CSVREAD_NUL;
	r->offsets[r->nfields++] = r->len;
	if (len > 0)
		memcpy(r->buf + r->len, s, len);
	r->len += len;
	r->buf[r->len++] = '\0';
}

static void
csvread_record(int term, void *data)
{
	struct csvread	*r = data;
	char		*fields[CSVREAD_MAX_FIELDS];

	(void)term;
	if (r->rc == 0) {
		for (int i = 0; i < r->nfields; i++)
			fields[i] = r->buf + r->offsets[i];
		r->rc = r->fn(r->arg, r->record_line, r->problem, fields,
		    r->problem == CSVREAD_OK ? r->nfields : 0);
	}
	r->in_record = 0;
	r->nfields = 0;
	r->len = 0;
	r->problem = CSVREAD_OK;
}

/*
 * Read RFC 4180 CSV (quoted fields with commas, doubled quotes and line
 * breaks; CRLF or LF; a UTF-8 byte order mark is skipped) and call fn for
 * each record.  libcsv is fed one physical line at a time so that we know
 * the line each record starts on, and memory holds one record at most.
 * Returns 0, the callback's non-zero value, or CSVREAD_* (reported).
 */
int
csvread(FILE *fp, const char *name, csvread_fn *fn, void *arg)
{
	struct csvread		r = { .fn = fn, .arg = arg };
	struct csv_parser	p;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		fatalx("csv_init: out of memory");
	while (r.rc == 0 && (n = getline(&line, &cap, fp)) != -1) {
		const char *s = line;

		r.line++;
		/*
		 * A record starts on the first line that is not blank after
		 * the last record ended; a line break inside quotes keeps it.
		 */
		if (!r.in_record) {
			r.record_line = r.line;
			r.in_record = strspn(s, "\r\n") != (size_t)n;
		}
		if (r.line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			n -= 3;
		}
		if (csv_parse(&p, s, (size_t)n, csvread_field, csvread_record,
		    &r) != (size_t)n) {
			log_error("%s:%ld: malformed CSV: %s (a field with a "
			    "quote must be quoted, and its quotes doubled)",
			    name, r.line, csv_strerror(csv_error(&p)));
			r.rc = CSVREAD_MALFORMED;
		}
	}
	if (r.rc == 0 && ferror(fp)) {
		log_error("%s: cannot read: %s", name, strerror(errno));
		r.rc = CSVREAD_IOERR;
	}
	if (r.rc == 0 && csv_fini(&p, csvread_field, csvread_record, &r) != 0) {
		log_error("%s:%ld: malformed CSV: a quoted field is not closed "
		    "before the end of the file", name, r.record_line);
		r.rc = CSVREAD_MALFORMED;
	}
	csv_free(&p);
	free(line);
	free(r.buf);
	return r.rc;
}
