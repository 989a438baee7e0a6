/*
 * Allocation that cannot fail: out of memory ends the process, in one
 * place, as OpenSMTPD's xmalloc and Redis's zmalloc do.  A daemon that
 * cannot allocate a few hundred bytes cannot do anything useful, and
 * threading the failure through every caller made it be handled three
 * ways, one of them a NULL dereference.  Committed work is safe either
 * way: SQLite rolls back what was not committed.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "xmalloc.h"

/*
 * Exit 71 (EX_OSERR), as the man page says for running out of memory;
 * also for the libraries' own allocations (libcsv's) when they fail.
 */
void
xmalloc_fail(size_t size)
{
	if (size > 0)
		log_error("out of memory allocating %zu bytes; stopping", size);
	else
		log_error("out of memory; stopping");
	exit(EX_OSERR);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		xmalloc_fail(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		xmalloc_fail(n * size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n ? n : 1, size ? size : 1);

	if (q == NULL)
		xmalloc_fail(n * size);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		xmalloc_fail(strlen(s) + 1);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		xmalloc_fail(n + 1);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n == -1)
		xmalloc_fail(strlen(fmt));
	return p;
}
