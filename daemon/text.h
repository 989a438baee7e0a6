/* Checks on untrusted text: UTF-8, control characters, near misses. */
#ifndef AFTERSALE_TEXT_H
#define AFTERSALE_TEXT_H

#include <stddef.h>

int	text_utf8_valid(const char *s);
char	*text_utf8_repair(const char *s);
int	text_has_control(const char *s);
size_t	text_utf8_length(const char *s);
int	text_distance(const char *a, const char *b);
const char *text_closest(const char *word, const char *const *candidates,
	    size_t count);

#endif
