/* Durations: "90s", "15m", "2h", "7d", "2w", "3y" and sums such as "1d12h". */
#ifndef AFTERSALE_DURATION_H
#define AFTERSALE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration accepted: ten years, far past any campaign delay. */
#define DURATION_MAX	(10LL * 366 * 86400)

int	duration_parse(const char *text, int64_t *seconds);
void	duration_format(int64_t seconds, char *buf, size_t size);

#endif
