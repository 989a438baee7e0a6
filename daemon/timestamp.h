/* Points in time: ISO 8601 in, ISO 8601 UTC out, seconds in between. */
#ifndef AFTERSALE_TIMESTAMP_H
#define AFTERSALE_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#define TIMESTAMP_LEN	sizeof("2026-11-20T10:00:00Z")

int	timestamp_zone_valid(const char *name);
int	timestamp_set_timezone(const char *name);
const char *timestamp_timezone(void);
int	timestamp_parse(const char *text, int64_t *seconds);
void	timestamp_format(int64_t seconds, char buf[TIMESTAMP_LEN]);

#endif
