/* Send windows: the hours of the shop's day when mail may go out. */

#include <time.h>

#include "window.h"

/*
 * The earliest time at or after t that falls inside the window, in the
 * configured timezone (TZ).  A window whose end is before its start runs
 * past midnight.  Local times are rebuilt with mktime(), so a window start
 * that a DST change skips moves to the first time that exists.
 */
int64_t
window_next(const struct window *w, int64_t t)
{
	struct tm	tm;
	time_t		now = (time_t)t;
	int		minute, inside;

	if (w->start == 0 && w->end == 24 * 60)
		return t;
	localtime_r(&now, &tm);
	minute = tm.tm_hour * 60 + tm.tm_min;
	if (w->start < w->end)
		inside = minute >= w->start && minute < w->end;
	else
		inside = minute >= w->start || minute < w->end;
	if (inside)
		return t;

	/* Outside: the next start is today, unless today's has passed. */
	if (w->start < w->end && minute >= w->end)
		tm.tm_mday++;
	tm.tm_hour = w->start / 60;
	tm.tm_min = w->start % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}
