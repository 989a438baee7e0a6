/* Durations: "90s", "15m", "2h", "7d", "2w", "3y" and sums such as "1d12h". */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
	char	unit;
	int64_t	seconds;
} duration_units[] = {
	{ 'y', 365 * 86400 },	/* a calendar year, leap days aside */
	{ 'w', 7 * 86400 },
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};

static int64_t
duration_unit(char c)
{
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (duration_units[i].unit == c)
			return duration_units[i].seconds;
	return 0;
}

/*
 * Parse a non-empty sequence of NUMBER UNIT pairs.  Each unit may appear
 * once, largest first, so that "1d12h" reads as written and "5m1d" is
 * rejected as the typo it probably is.  Returns 0, or -1 on bad input.
 */
int
duration_parse(const char *text, int64_t *seconds)
{
	const char	*p = text;
	int64_t		 total = 0, last_unit = INT64_MAX;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		int64_t n = 0, unit;

		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p++ - '0');
			if (n > DURATION_MAX)
				return -1;
		}
		unit = duration_unit(*p);
		if (unit == 0 || unit >= last_unit)
			return -1;
		last_unit = unit;
		p++;
		total += n * unit;
		if (total > DURATION_MAX)
			return -1;
	}
	*seconds = total;
	return 0;
}

/* Format as the shortest sum of units: 129600 -> "1d12h", 0 -> "0s". */
void
duration_format(int64_t seconds, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	if (seconds == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		int64_t n = seconds / duration_units[i].seconds;

		if (n == 0)
			continue;
		if (len >= size)
			break;
		seconds -= n * duration_units[i].seconds;
		len += snprintf(buf + len, size - len, "%lld%c",
		    (long long)n, duration_units[i].unit);
	}
}
