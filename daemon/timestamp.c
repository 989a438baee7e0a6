/* Points in time: ISO 8601 in, ISO 8601 UTC out, seconds in between. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"

#define TZDIR_DEFAULT	"/usr/share/zoneinfo"

static char timestamp_zone[256];	/* the zone in TZ; "" before any */

/* Whether `name` is a zone of the tz database, such as "Europe/London". */
int
timestamp_zone_valid(const char *name)
{
	const char	*dir = getenv("TZDIR");
	char		 path[4096], magic[4];
	FILE		*fp;
	size_t		 n;

	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL ||
	    strlen(name) >= sizeof(timestamp_zone))
		return 0;
	if (dir == NULL || dir[0] == '\0')
		dir = TZDIR_DEFAULT;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(magic, 1, sizeof(magic), fp);
	fclose(fp);
	return n == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

/*
 * Dates without an offset are read in the shop's timezone.  The process
 * has one timezone, the configured one, so TZ is the natural place for it:
 * mktime() and localtime_r() then do the DST arithmetic for us (glibc has
 * no other way to name a zone).
 *
 * Call it only while the process has one thread: setenv() races with
 * every thread that reads the environment, and libcurl's do (proxy
 * variables, at each transfer).  So the daemon sets the zone once, at
 * start, and a reload that changes it waits for the next start.
 */
int
timestamp_set_timezone(const char *name)
{
	if (!timestamp_zone_valid(name) || setenv("TZ", name, 1) == -1)
		return -1;
	tzset();
	snprintf(timestamp_zone, sizeof(timestamp_zone), "%s", name);
	return 0;
}

/* The zone timestamp_set_timezone() set, or "" when none was. */
const char *
timestamp_timezone(void)
{
	return timestamp_zone;
}

/* Read exactly `width` digits. */
static int
timestamp_digits(const char **p, int width, int *value)
{
	int v = 0;

	for (int i = 0; i < width; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += width;
	*value = v;
	return 0;
}

static int
timestamp_days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[month - 1] + (month == 2 && leap);
}

/* "Z", "+01:00", "-0530", or nothing (local time). */
static int
timestamp_offset(const char *p, int *has_offset, int *offset)
{
	int sign, hh, mm;

	*has_offset = 1;
	*offset = 0;
	if (*p == '\0') {
		*has_offset = 0;
		return 0;
	}
	if (p[0] == 'Z' && p[1] == '\0')
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (timestamp_digits(&p, 2, &hh) == -1)
		return -1;
	if (*p == ':')
		p++;
	if (timestamp_digits(&p, 2, &mm) == -1 || *p != '\0')
		return -1;
	if (hh > 14 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

/*
 * Accepts "2026-11-20" (midnight in the configured timezone),
 * "2026-11-20T10:00[:00[.123]]" with "Z" or an offset, and the same without
 * an offset, read in the configured timezone.  A space may stand for the
 * "T", as in most shop exports.  Returns 0, or -1 on bad input.
 */
int
timestamp_parse(const char *text, int64_t *seconds)
{
	const char	*p = text;
	struct tm	 tm;
	int		 year, mon, day, hh = 0, mi = 0, ss = 0;
	int		 has_offset = 0, offset = 0;
	time_t		 t;

	if (timestamp_digits(&p, 4, &year) == -1 || *p++ != '-' ||
	    timestamp_digits(&p, 2, &mon) == -1 || *p++ != '-' ||
	    timestamp_digits(&p, 2, &day) == -1)
		return -1;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
	    day > timestamp_days_in_month(year, mon))
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (timestamp_digits(&p, 2, &hh) == -1 || *p++ != ':' ||
		    timestamp_digits(&p, 2, &mi) == -1)
			return -1;
		if (*p == ':') {
			p++;
			if (timestamp_digits(&p, 2, &ss) == -1)
				return -1;
			if (*p == '.' || *p == ',') {
				if (!isdigit((unsigned char)*++p))
					return -1;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (hh > 23 || mi > 59 || ss > 59)
			return -1;
		if (timestamp_offset(p, &has_offset, &offset) == -1)
			return -1;
	} else if (*p != '\0') {
		return -1;
	}

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	if (has_offset) {
		t = timegm(&tm) - offset;
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t < 0)
		return -1;
	*seconds = (int64_t)t;
	return 0;
}

void
timestamp_format(int64_t seconds, char buf[TIMESTAMP_LEN])
{
	struct tm	tm;
	time_t		t = (time_t)seconds;

	gmtime_r(&t, &tm);
	strftime(buf, TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
