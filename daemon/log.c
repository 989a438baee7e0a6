/* Logging: one ladder for the CLI and the daemon. */

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_style	log_style = LOG_STYLE_PLAIN;
/* Set by the loop thread on reload, read by every thread that logs. */
static _Atomic enum log_level	log_threshold = LOG_LEVEL_INFO;
static int		log_journal;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* syslog(3) priorities, which journald reads from a "<N>" line prefix. */
static const int log_priorities[] = {
	[LOG_LEVEL_ERROR] = 3,
	[LOG_LEVEL_WARNING] = 4,
	[LOG_LEVEL_INFO] = 6,
	[LOG_LEVEL_DEBUG] = 7,
};

/*
 * systemd sets JOURNAL_STREAM to the "device:inode" of the journal stream
 * it gave us; stderr is that stream unless someone redirected it since.
 */
static int
log_to_journal(void)
{
	const char	*env = getenv("JOURNAL_STREAM");
	uintmax_t	 dev, ino;
	struct stat	 st;

	return env != NULL && sscanf(env, "%ju:%ju", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void
log_init(enum log_style style)
{
	log_style = style;
	/* The journal adds its own timestamps: we only tag the priority. */
	log_journal = style == LOG_STYLE_DAEMON && log_to_journal();
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

#define LOG_LINE_MAX	4096

/* Append to line[*n], keeping room for the newline; truncates. */
static void
log_vappend(char *line, size_t *n, const char *fmt, va_list ap)
{
	size_t	room = LOG_LINE_MAX - 1 - *n;	/* with the NUL */
	int	len = vsnprintf(line + *n, room, fmt, ap);

	if (len > 0)
		*n += (size_t)len < room ? (size_t)len : room - 1;
}

static void	log_append(char *, size_t *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
log_append(char *line, size_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vappend(line, n, fmt, ap);
	va_end(ap);
}

/* One line, written whole: stderr is unbuffered. */
static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char		 line[LOG_LINE_MAX], stamp[32];
	size_t		 n = 0;
	struct tm	 tm;
	time_t		 now;

	if (level > log_threshold)
		return;
	if (log_style == LOG_STYLE_DAEMON) {
		if (log_journal) {
			log_append(line, &n, "<%d>", log_priorities[level]);
		} else {
			now = time(NULL);
			gmtime_r(&now, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
			log_append(line, &n, "%s %s: ", stamp, log_names[level]);
		}
	} else if (level == LOG_LEVEL_WARNING) {
		log_append(line, &n, "warning: ");
	}
	log_vappend(line, &n, fmt, ap);
	if (suffix)
		log_append(line, &n, ": %s", suffix);
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

#define LOG_BODY(level, suffix) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite((level), (suffix), fmt, ap);		\
	va_end(ap);					\
} while (0)

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
}

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARNING, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARNING, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
log_at(int *errors, const char *file, int line, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s:%d: %s", file, line, msg);
	(*errors)++;
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_LEVEL_ERROR, err);
	exit(EX_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
	exit(EX_SOFTWARE);
}
