/* Logging: one ladder for the CLI and the daemon. */
#ifndef AFTERSALE_LOG_H
#define AFTERSALE_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_style {
	LOG_STYLE_PLAIN,	/* CLI: the message alone, on stderr */
	LOG_STYLE_DAEMON,	/* timestamp and level, or journald <N> prefixes */
};

void	log_init(enum log_style style);
void	log_set_level(enum log_level level);

/* log_warn and fatal append strerror(errno); the x variants do not. */
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "FILE:LINE: message", as an error; counts it in *errors. */
void	log_at(int *errors, const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
