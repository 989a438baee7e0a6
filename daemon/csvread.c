/* CSV records from a stream, each with the line it starts on. */

#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Memory stays flat whatever the input: the file is read in chunks of
 * CSVREAD_CHUNK, and libcsv, which buffers a whole field, is fed at most
 * CSVREAD_MAX_RAW bytes of one record (fields at most doubled by quoting,
 * plus separators and line ends).  Past that the record is skipped to its
 * end without being kept, and past CSVREAD_MAX_SKIP more the file is
 * given up on (a 2 GB line, or /dev/zero, has no record in it to find).
 */
#define CSVREAD_CHUNK		(64 * 1024)
#define CSVREAD_MAX_RAW		(4 * CSVREAD_MAX_RECORD)
#define CSVREAD_MAX_SKIP	(16 * 1024 * 1024)
#define CSVREAD_FLAGS		(CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)

struct csvread {
	csvread_fn	*fn;
	void		*arg;
	long		 line;		/* physical line being fed, from 1 */
	int		 at_line_start;
	long		 record_line;	/* where the current record started */
	int		 in_record;
	size_t		 raw;		/* bytes of the record fed to libcsv */
	int		 quotes;	/* parity of the quotes in them */
	int		 skipping;	/* the record is over-long: to its end */
	size_t		 skipped;	/* bytes of it not fed */
	char		*buf;		/* the record's fields, NUL-separated */
	size_t		 len;
	size_t		 offsets[CSVREAD_MAX_FIELDS];
	int		 nfields;
	enum csvread_problem problem;
	int		 rc;		/* the callback's, once non-zero */
};

static void
csvread_field(void *s, size_t len, void *data)
{
	struct csvread *r = data;

	if (r->problem != CSVREAD_OK)
		return;
	/* buf holds CSVREAD_MAX_RECORD bytes, separators included. */
	if (r->nfields == CSVREAD_MAX_FIELDS ||
	    r->len + len + 1 > CSVREAD_MAX_RECORD) {
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
	r->raw = 0;
	r->quotes = 0;
	r->problem = CSVREAD_OK;
}

/* Whether s[0..n) holds nothing but line breaks (it is not NUL-terminated). */
static int
csvread_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static void
csvread_parser_init(struct csv_parser *p)
{
	if (csv_init(p, CSVREAD_FLAGS) != 0)
		xmalloc_fail(sizeof(*p));
	/*
	 * libcsv grows its field buffer 128 bytes at a time by default: a
	 * long field cost thousands of reallocs (and, under ASan, hundreds
	 * of megabytes of quarantined blocks).
	 */
	csv_set_blk_size(p, CSVREAD_CHUNK);
}

/*
 * The record being fed is over CSVREAD_MAX_RAW: drop what libcsv holds
 * of it and skip the rest, without keeping it, to the first line break
 * outside quotes (quotes come in pairs in CSV, so their parity tells).
 */
static void
csvread_skip_begin(struct csvread *r, struct csv_parser *p)
{
	csv_free(p);
	csvread_parser_init(p);
	r->skipping = 1;
	r->skipped = 0;
	r->nfields = 0;
	r->len = 0;
}

/* The record ends here (or the file did): hand it over as too long. */
static void
csvread_skip_end(struct csvread *r)
{
	r->skipping = 0;
	r->nfields = 0;
	r->problem = CSVREAD_TOO_LONG;
	csvread_record(0, r);
}

/* Skip within [s, end); returns where feeding resumes. */
static const char *
csvread_skip(struct csvread *r, const char *s, const char *end)
{
	const char *start = s;

	for (; s < end; s++) {
		if (*s == '"') {
			r->quotes ^= 1;
		} else if (*s == '\n') {
			r->line++;
			if (!r->quotes) {
				r->at_line_start = 1;
				csvread_skip_end(r);
				return s + 1;
			}
		}
	}
	r->skipped += (size_t)(end - start);
	return end;
}

/*
 * Feed libcsv one piece of a physical line (all of it up to and with its
 * '\n', or what this chunk holds of it), so that we know the line each
 * record starts on.  Returns 0, or -1 when the CSV is malformed (reported).
 */
static int
csvread_feed(struct csvread *r, struct csv_parser *p, const char *name,
    const char *s, size_t n)
{
	/*
	 * A record starts on the first line that is not blank after the last
	 * record ended; a line break inside quotes keeps it.
	 */
	if (!r->in_record) {
		if (r->at_line_start) {
			r->record_line = r->line;
			r->raw = 0;
			r->quotes = 0;
		}
		r->in_record = !csvread_blank(s, n);
	}
	r->at_line_start = s[n - 1] == '\n';
	for (const char *q = s; (q = memchr(q, '"', n - (size_t)(q - s))) != NULL;
	    q++)
		r->quotes ^= 1;
	r->raw += n;
	if (csv_parse(p, s, n, csvread_field, csvread_record, r) != n) {
		if (csv_error(p) == CSV_ENOMEM || csv_error(p) == CSV_ETOOBIG)
			xmalloc_fail(n);
		log_error("%s:%ld: malformed CSV: %s (a field with a quote must "
		    "be quoted, and its quotes doubled)", name, r->line,
		    csv_strerror(csv_error(p)));
		return -1;
	}
	if (r->at_line_start)
		r->line++;
	return 0;
}

/* Read the next chunk; a read error leaves its errno in *err. */
static size_t
csvread_fill(FILE *fp, char *chunk, int *err)
{
	size_t n;

	errno = 0;
	n = fread(chunk, 1, CSVREAD_CHUNK, fp);
	if (n < CSVREAD_CHUNK && ferror(fp))
		*err = errno ? errno : EIO;
	return n;
}

/*
 * Read RFC 4180 CSV (quoted fields with commas, doubled quotes and line
 * breaks; CRLF or LF; a UTF-8 byte order mark at the start of the file is
 * skipped) and call fn for each record, with memory bounded as above.
 * Any read error is an error, never taken for the end of the file.
 * Returns 0, the callback's non-zero value, or CSVREAD_* (reported).
 */
int
csvread(FILE *fp, const char *name, csvread_fn *fn, void *arg)
{
	struct csvread		 r = { .fn = fn, .arg = arg, .line = 1,
				    .at_line_start = 1 };
	struct csv_parser	 p;
	char			*chunk;
	size_t			 n;
	int			 first = 1, read_errno = 0;

	chunk = xmalloc(CSVREAD_CHUNK);
	r.buf = xmalloc(CSVREAD_MAX_RECORD);
	csvread_parser_init(&p);
	while (r.rc == 0 && (n = csvread_fill(fp, chunk, &read_errno)) > 0) {
		const char *s = chunk, *end = chunk + n;

		if (first && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		first = 0;
		while (r.rc == 0 && s < end) {
			const char	*nl;
			size_t		 k;

			if (r.skipping) {
				s = csvread_skip(&r, s, end);
				continue;
			}
			nl = memchr(s, '\n', (size_t)(end - s));
			k = nl != NULL ? (size_t)(nl + 1 - s) : (size_t)(end - s);
			/*
			 * k is at most a chunk, so this is never the first
			 * piece of a record: record_line is set.
			 */
			if (r.raw + k > CSVREAD_MAX_RAW) {
				csvread_skip_begin(&r, &p);
				continue;
			}
			if (csvread_feed(&r, &p, name, s, k) == -1)
				r.rc = CSVREAD_MALFORMED;
			s += k;
		}
		if (r.rc == 0 && r.skipping && r.skipped > CSVREAD_MAX_SKIP) {
			log_error("%s:%ld: the record is longer than %d bytes and "
			    "does not end within %d MiB; reading stopped (is "
			    "this a CSV file?)", name, r.record_line,
			    CSVREAD_MAX_RECORD, CSVREAD_MAX_SKIP / (1024 * 1024));
			r.rc = CSVREAD_MALFORMED;
		}
	}
	if (r.rc == 0 && ferror(fp)) {
		log_error("%s:%ld: cannot read: %s", name, r.line,
		    strerror(read_errno));
		r.rc = CSVREAD_IOERR;
	}
	if (r.rc == 0 && r.skipping)
		csvread_skip_end(&r);
	if (r.rc == 0 && csv_fini(&p, csvread_field, csvread_record, &r) != 0) {
		log_error("%s:%ld: malformed CSV: a quoted field is not closed "
		    "before the end of the file", name, r.record_line);
		r.rc = CSVREAD_MALFORMED;
	}
	csv_free(&p);
	free(chunk);
	free(r.buf);
	return r.rc;
}
