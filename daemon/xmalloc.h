/* Allocation that cannot fail: out of memory ends the process, in one place. */
#ifndef AFTERSALE_XMALLOC_H
#define AFTERSALE_XMALLOC_H

#include <stddef.h>
#include <stdnoreturn.h>

noreturn void xmalloc_fail(size_t size);
void	*xmalloc(size_t size);
void	*xcalloc(size_t n, size_t size);
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
