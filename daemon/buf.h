/* A growable byte buffer, always NUL-terminated. */
#ifndef AFTERSALE_BUF_H
#define AFTERSALE_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	buf_add(struct buf *b, const void *data, size_t len);
void	buf_addstr(struct buf *b, const char *s);
void	buf_addc(struct buf *b, char c);
void	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_free(struct buf *b);

#endif
