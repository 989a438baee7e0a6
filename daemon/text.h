/* Checks on untrusted text: UTF-8, control and format characters, near misses. */
#ifndef AFTERSALE_TEXT_H
#define AFTERSALE_TEXT_H

#include <stddef.h>
#include <stdint.h>

int	text_utf8_valid(const char *s);
char	*text_utf8_repair(const char *s);
int	text_has_control(const char *s);
int	text_is_format(uint32_t cp);
uint32_t text_find_format(const char *s, int prose);
size_t	text_utf8_length(const char *s);
int	text_distance(const char *a, const char *b);
const char *text_closest(const char *word, const char *const *candidates,
	    size_t count);

#endif
