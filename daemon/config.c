/* Configuration: libconfig text, validated key by key against tables. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "coupon.h"
#include "duration.h"
#include "email.h"
#include "money.h"
#include "text.h"
#include "timestamp.h"
#include "xmalloc.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR	"/var"
#endif

struct cfg_key;

/* Where we are while walking the settings, for messages and errors. */
struct cfg_ctx {
	const char	*file;
	const char	*label;		/* "" or `campaign "win-back": ` */
	const char	*path;		/* "" or "smtp." */
	int		 errors;
};

/*
 * A value to parse: a setting from the file, or, when the key is absent,
 * the key's default written as text, exactly as a user would write it.
 */
struct cfg_value {
	const config_setting_t	*setting;	/* NULL for a default */
	const char		*text;
	int			 line;
};

typedef int cfg_parse_fn(struct cfg_ctx *, const struct cfg_key *,
    const struct cfg_value *, void *);

#define CFG_REQUIRED	0x1u

struct cfg_key {
	const char	*name;
	cfg_parse_fn	*parse;
	size_t		 offset;
	const char	*def;		/* default as text; NULL for none */
	unsigned	 flags;
	int64_t		 min, max;	/* ints, durations, list lengths */
	const void	*extra;		/* choices, or a group's table */
};

#define CFG_END		{ NULL, NULL, 0, NULL, 0, 0, 0, NULL }

static int config_line(const struct config *, const char *);
static void cfg_error(struct cfg_ctx *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
cfg_error(struct cfg_ctx *ctx, int line, const char *fmt, ...)
{
	char	msg[768];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_at(&ctx->errors, ctx->file, line, "%s%s", ctx->label, msg);
}

/* Text of a string setting or default; NULL (reported) for other types. */
static const char *
cfg_text(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, const char *example)
{
	const char *s;

	if (v->setting == NULL)
		return v->text;
	if ((s = config_setting_get_string(v->setting)) == NULL)
		cfg_error(ctx, v->line, "%s%s must be a string such as %s",
		    ctx->path, key->name, example);
	return s;
}

static int
cfg_string(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	const char *s = cfg_text(ctx, key, v, "\"...\"");

	if (s == NULL)
		return -1;
	if (text_has_control(s) || !text_utf8_valid(s)) {
		cfg_error(ctx, v->line, "%s%s has control characters or is not "
		    "valid UTF-8", ctx->path, key->name);
		return -1;
	}
	if (key->max > 0 && strlen(s) > (size_t)key->max) {
		cfg_error(ctx, v->line, "%s%s is %zu bytes long; at most %lld "
		    "fit in a mail header line", ctx->path, key->name, strlen(s),
		    (long long)key->max);
		return -1;
	}
	if ((key->flags & CFG_REQUIRED) && *s == '\0') {
		cfg_error(ctx, v->line, "%s%s must not be empty", ctx->path,
		    key->name);
		return -1;
	}
	*(const char **)dst = s;
	return 0;
}

static int
cfg_int(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	long long n;

	if (v->setting == NULL) {
		n = strtoll(v->text, NULL, 10);
	} else if (config_setting_type(v->setting) == CONFIG_TYPE_INT ||
	    config_setting_type(v->setting) == CONFIG_TYPE_INT64) {
		n = config_setting_get_int64(v->setting);
	} else {
		cfg_error(ctx, v->line, "%s%s must be a whole number",
		    ctx->path, key->name);
		return -1;
	}
	if (n < key->min || n > key->max) {
		cfg_error(ctx, v->line, "%s%s is %lld; it must be from %lld to "
		    "%lld", ctx->path, key->name, n, (long long)key->min,
		    (long long)key->max);
		return -1;
	}
	*(int *)dst = (int)n;
	return 0;
}

static int
cfg_float(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	double d;

	if (v->setting == NULL) {
		d = strtod(v->text, NULL);
	} else if (config_setting_type(v->setting) == CONFIG_TYPE_FLOAT) {
		d = config_setting_get_float(v->setting);
	} else if (config_setting_type(v->setting) == CONFIG_TYPE_INT ||
	    config_setting_type(v->setting) == CONFIG_TYPE_INT64) {
		d = (double)config_setting_get_int64(v->setting);
	} else {
		cfg_error(ctx, v->line, "%s%s must be a number", ctx->path,
		    key->name);
		return -1;
	}
	if (!(d >= (double)key->min && d <= (double)key->max)) {
		cfg_error(ctx, v->line, "%s%s is %g; it must be from %lld to "
		    "%lld", ctx->path, key->name, d, (long long)key->min,
		    (long long)key->max);
		return -1;
	}
	*(double *)dst = d;
	return 0;
}

static int
cfg_bool(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	if (v->setting == NULL) {
		*(int *)dst = strcmp(v->text, "true") == 0;
		return 0;
	}
	if (config_setting_type(v->setting) != CONFIG_TYPE_BOOL) {
		cfg_error(ctx, v->line, "%s%s must be true or false",
		    ctx->path, key->name);
		return -1;
	}
	*(int *)dst = config_setting_get_bool(v->setting);
	return 0;
}

static int
cfg_duration_text(struct cfg_ctx *ctx, const struct cfg_key *key, int line,
    const char *s, int64_t *out)
{
	char min[32], max[32];

	if (duration_parse(s, out) == -1) {
		cfg_error(ctx, line, "%s%s: \"%s\" is not a duration (write "
		    "90s, 15m, 2h, 7d, 2w, 3y, or sums such as 1d12h)",
		    ctx->path, key->name, s);
		return -1;
	}
	if (*out < key->min || *out > key->max) {
		duration_format(key->min, min, sizeof(min));
		duration_format(key->max, max, sizeof(max));
		cfg_error(ctx, line, "%s%s is %s; it must be from %s to %s",
		    ctx->path, key->name, s, min, max);
		return -1;
	}
	return 0;
}

static int
cfg_duration(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	const char *s = cfg_text(ctx, key, v, "\"2h\"");

	if (s == NULL)
		return -1;
	return cfg_duration_text(ctx, key, v->line, s, dst);
}

/* "HH:MM", 00:00 to 24:00, into minutes. */
static int
cfg_clock(const char *s, int *minutes)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	*minutes = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
	    (s[3] - '0') * 10 + (s[4] - '0');
	if (s[3] > '5' || *minutes > 24 * 60)
		return -1;
	return 0;
}

static int
cfg_window(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	struct window	*w = dst;
	const char	*s = cfg_text(ctx, key, v, "\"09:00-19:00\"");

	if (s == NULL)
		return -1;
	if (strlen(s) != 11 || s[5] != '-' || cfg_clock(s, &w->start) == -1 ||
	    cfg_clock(s + 6, &w->end) == -1 || w->start == 24 * 60 ||
	    w->start == w->end) {
		cfg_error(ctx, v->line, "%s%s: \"%s\" is not a window such as "
		    "\"09:00-19:00\" (local time, start and end differ)",
		    ctx->path, key->name, s);
		return -1;
	}
	return 0;
}

static int
cfg_choice(struct cfg_ctx *ctx, const struct cfg_key *key, int line,
    const char *s)
{
	const char *const	*choices = key->extra;
	size_t			 n = 0;
	char			 list[256] = "";

	for (; choices[n] != NULL; n++)
		if (strcmp(s, choices[n]) == 0)
			return (int)n;
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s\"%s\"", i == 0 ? "" : i == n - 1 ? " or " : ", ",
		    choices[i]);
	cfg_error(ctx, line, "%s%s: \"%s\" is not one of %s", ctx->path,
	    key->name, s, list);
	return -1;
}

static int
cfg_enum(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	const char	*s = cfg_text(ctx, key, v, "\"...\"");
	int		 n;

	if (s == NULL || (n = cfg_choice(ctx, key, v->line, s)) < 0)
		return -1;
	*(int *)dst = n;
	return 0;
}

/*
 * A list of strings: a libconfig list or array, or for a default, text
 * separated by commas.  Calls `each` for every element.
 */
static int
cfg_each(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v,
    int (*each)(struct cfg_ctx *, const struct cfg_key *, int, const char *,
	size_t, void *), void *dst)
{
	char	buf[256], *save = NULL, *tok;
	size_t	i = 0;
	int	rc = 0;

	if (v->setting == NULL) {
		snprintf(buf, sizeof(buf), "%s", v->text);
		for (tok = strtok_r(buf, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			if (each(ctx, key, v->line, tok, i++, dst) == -1)
				return -1;
		return 0;
	}
	if (!config_setting_is_aggregate(v->setting) ||
	    config_setting_is_group(v->setting)) {
		cfg_error(ctx, v->line, "%s%s must be a list such as [ \"...\" ]",
		    ctx->path, key->name);
		return -1;
	}
	if (config_setting_length(v->setting) < key->min ||
	    config_setting_length(v->setting) > key->max) {
		cfg_error(ctx, v->line, "%s%s must have from %lld to %lld "
		    "entries", ctx->path, key->name, (long long)key->min,
		    (long long)key->max);
		return -1;
	}
	for (int n = 0; n < config_setting_length(v->setting); n++) {
		const config_setting_t	*e = config_setting_get_elem(v->setting, n);
		const char		*s = config_setting_get_string(e);
		int			 line = config_setting_source_line(e);

		if (s == NULL) {
			cfg_error(ctx, line, "%s%s: entry %d is not a string",
			    ctx->path, key->name, n + 1);
			rc = -1;
		} else if (each(ctx, key, line, s, i++, dst) == -1) {
			rc = -1;
		}
	}
	return rc;
}

static int
cfg_one_duration(struct cfg_ctx *ctx, const struct cfg_key *key, int line,
    const char *s, size_t i, void *dst)
{
	struct durations	*d = dst;
	struct cfg_key		 one = *key;

	one.min = 1;
	one.max = DURATION_MAX;
	d->v = xreallocarray(d->v, i + 1, sizeof(*d->v));
	d->n = i + 1;
	return cfg_duration_text(ctx, &one, line, s, &d->v[i]);
}

static int
cfg_durations(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	struct durations *d = dst;

	free(d->v);
	d->v = NULL;
	d->n = 0;
	return cfg_each(ctx, key, v, cfg_one_duration, dst);
}

static int
cfg_one_string(struct cfg_ctx *ctx, const struct cfg_key *key, int line,
    const char *s, size_t i, void *dst)
{
	struct strings *l = dst;

	if (*s == '\0' || text_has_control(s)) {
		cfg_error(ctx, line, "%s%s: entries must be non-empty text",
		    ctx->path, key->name);
		return -1;
	}
	l->v = xreallocarray(l->v, i + 1, sizeof(*l->v));
	l->v[i] = s;
	l->n = i + 1;
	return 0;
}

static int
cfg_strings(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	return cfg_each(ctx, key, v, cfg_one_string, dst);
}

static int
cfg_one_flag(struct cfg_ctx *ctx, const struct cfg_key *key, int line,
    const char *s, size_t i, void *dst)
{
	int n = cfg_choice(ctx, key, line, s);

	(void)i;
	if (n < 0)
		return -1;
	*(unsigned *)dst |= 1u << n;
	return 0;
}

static int
cfg_flags(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	*(unsigned *)dst = 0;
	return cfg_each(ctx, key, v, cfg_one_flag, dst);
}

/* "20.00" (a string, so that no float rounding creeps in) in thousandths. */
static int
cfg_amount(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	const char *s = cfg_text(ctx, key, v, "\"20.00\"");

	if (s == NULL)
		return -1;
	if (money_parse(s, 3, dst) == -1) {
		cfg_error(ctx, v->line, "%s%s: \"%s\" is not an amount such as "
		    "\"20.00\"", ctx->path, key->name, s);
		return -1;
	}
	return 0;
}

/*
 * "1MB", "512kB", "2048" (bytes): multiples of 1024, as nginx and most
 * configuration files read them.  A whole number setting is bytes.
 */
static int
cfg_size_text(const char *s, int64_t *out)
{
	static const struct {
		const char	*unit;
		int64_t		 times;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1LL << 10 }, { "kb", 1LL << 10 }, { "kib", 1LL << 10 },
		{ "m", 1LL << 20 }, { "mb", 1LL << 20 }, { "mib", 1LL << 20 },
		{ "g", 1LL << 30 }, { "gb", 1LL << 30 }, { "gib", 1LL << 30 },
	};
	char		*end;
	long long	 n;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].unit) == 0) {
			if (n > INT64_MAX / units[i].times)
				return -1;
			*out = n * units[i].times;
			return 0;
		}
	return -1;
}

static void
cfg_size_format(int64_t n, char *buf, size_t len)
{
	if (n % (1LL << 20) == 0)
		snprintf(buf, len, "%lldMB", (long long)(n >> 20));
	else if (n % (1LL << 10) == 0)
		snprintf(buf, len, "%lldkB", (long long)(n >> 10));
	else
		snprintf(buf, len, "%lld bytes", (long long)n);
}

static int
cfg_size(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	const char	*s = NULL;
	int64_t		 n;
	char		 min[32], max[32];

	if (v->setting != NULL && (config_setting_type(v->setting) ==
	    CONFIG_TYPE_INT || config_setting_type(v->setting) ==
	    CONFIG_TYPE_INT64)) {
		n = config_setting_get_int64(v->setting);
	} else if ((s = cfg_text(ctx, key, v, "\"1MB\"")) == NULL) {
		return -1;
	} else if (cfg_size_text(s, &n) == -1) {
		cfg_error(ctx, v->line, "%s%s: \"%s\" is not a size (write 2048, "
		    "512kB or 1MB)", ctx->path, key->name, s);
		return -1;
	}
	if (n < key->min || n > key->max) {
		cfg_size_format(key->min, min, sizeof(min));
		cfg_size_format(key->max, max, sizeof(max));
		cfg_error(ctx, v->line, "%s%s is %lld bytes; it must be from %s "
		    "to %s", ctx->path, key->name, (long long)n, min, max);
		return -1;
	}
	*(int64_t *)dst = n;
	return 0;
}

/*
 * "127.0.0.1:8025", "[::1]:8025", "*:8025" (every IPv4 address) or
 * "localhost:8025": numeric addresses only, so that nothing waits on a
 * name server at start.
 */
static int
cfg_address(const char *s, struct listen_address *a)
{
	char		 host[64];
	const char	*port, *end;
	size_t		 hostlen;
	long		 n;
	int		 v6 = s[0] == '[';

	if (v6) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		s++;
		port = end + 2;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return -1;
		port = end + 1;
	}
	hostlen = (size_t)(end - s);
	if (hostlen >= sizeof(host) || *port == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) ||
	    (n = strtol(port, NULL, 10)) < 1 || n > 65535)
		return -1;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	memset(&a->addr, 0, sizeof(a->addr));
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->addr;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)n);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		a->len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->addr;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)n);
		if (strcmp(host, "*") == 0)
			in->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (strcmp(host, "localhost") == 0)
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		a->len = sizeof(*in);
	}
	return 0;
}

static int
cfg_one_listen(struct cfg_ctx *ctx, const struct cfg_key *key, int line,
    const char *s, size_t i, void *dst)
{
	struct listen_addresses	*l = dst;
	struct listen_address	 a;

	memset(&a, 0, sizeof(a));
	if (strlen(s) >= sizeof(a.text) || cfg_address(s, &a) == -1) {
		cfg_error(ctx, line, "%s%s: \"%s\" is not an address and port "
		    "such as \"127.0.0.1:8025\" or \"[::1]:8025\"", ctx->path,
		    key->name, s);
		return -1;
	}
	/* A default's text is a copy that does not last: keep our own. */
	snprintf(a.text, sizeof(a.text), "%s", s);
	a.line = line;
	l->v = xreallocarray(l->v, i + 1, sizeof(*l->v));
	l->v[i] = a;
	l->n = i + 1;
	return 0;
}

static int
cfg_listen(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	return cfg_each(ctx, key, v, cfg_one_listen, dst);
}

static int cfg_group(struct cfg_ctx *, const struct cfg_key *,
    const struct cfg_value *, void *);

/*
 * What goes into header lines, bounded so that none can pass RFC 5322's
 * 998 octets: a name quoted with every character escaped doubles (400),
 * encoded in RFC 2047 words it is folded; an address is at most 254
 * (email_check); a link of 512 plus its token fits with its header name.
 */
#define CFG_NAME_MAX	200
#define CFG_LINK_MAX	512
/* Room left in a link for "/u/" and a token, or "/r/" and a code. */
#define CFG_PUBLIC_URL_MAX	(CFG_LINK_MAX - 64)

#define OFF(field)	offsetof(struct config, field)
#define COFF(field)	offsetof(struct campaign, field)
#define DAY		86400LL

static const char *const tls_choices[] = { "starttls", "implicit", "none", NULL };
static const char *const trigger_choices[] = {
	"sale", "first_sale", "repeat_sale", "referral_converted", "reorder",
	NULL
};
static const char *const stop_on_choices[] = {
	"repeat_purchase", "referred_friend", NULL
};
static const char *const same_name_choices[] = { "off", "review", NULL };
static const char *const on_refund_choices[] = { "cancel", "keep", NULL };
static const char *const log_level_choices[] = {
	"error", "warning", "info", "debug", NULL
};

static const struct cfg_key shop_keys[] = {
	{ "name", cfg_string, OFF(shop.name), NULL, CFG_REQUIRED, 0, CFG_NAME_MAX, NULL },
	{ "url", cfg_string, OFF(shop.url), "", 0, 0, 0, NULL },
	{ "currency", cfg_string, OFF(shop.currency), "EUR", 0, 0, 0, NULL },
	{ "language", cfg_string, OFF(shop.language), "en", 0, 0, 0, NULL },
	CFG_END
};

static const struct cfg_key smtp_keys[] = {
	{ "url", cfg_string, OFF(smtp.url), NULL, CFG_REQUIRED, 0, 0, NULL },
	{ "tls", cfg_enum, OFF(smtp.tls), "starttls", 0, 0, 0, tls_choices },
	{ "ca_file", cfg_string, OFF(smtp.ca_file), "", 0, 0, 0, NULL },
	{ "username", cfg_string, OFF(smtp.username), "", 0, 0, 0, NULL },
	{ "password_file", cfg_string, OFF(smtp.password_file), "", 0, 0, 0, NULL },
	{ "from", cfg_string, OFF(smtp.from), NULL, CFG_REQUIRED, 0, 0, NULL },
	{ "reply_to", cfg_string, OFF(smtp.reply_to), "", 0, 0, 0, NULL },
	{ "max_connections", cfg_int, OFF(smtp.max_connections), "4", 0, 1, 64, NULL },
	{ "rate", cfg_float, OFF(smtp.rate), "0", 0, 0, 100000, NULL },
	{ "timeout", cfg_duration, OFF(smtp.timeout), "30s", 0, 1, 3600, NULL },
	{ "data_timeout", cfg_duration, OFF(smtp.data_timeout), "10m", 0, 1, 3600, NULL },
	CFG_END
};

static const struct cfg_key delivery_keys[] = {
	{ "retry", cfg_durations, OFF(delivery.retry), "1m,5m,15m,1h,4h", 0, 1, 32, NULL },
	{ "give_up_after", cfg_duration, OFF(delivery.give_up_after), "3d", 0, 60, 60 * DAY, NULL },
	{ "min_gap", cfg_duration, OFF(delivery.min_gap), "0s", 0, 0, 365 * DAY, NULL },
	{ "send_window", cfg_window, OFF(delivery.send_window), "00:00-24:00", 0, 0, 0, NULL },
	CFG_END
};

static const struct cfg_key referral_rules_keys[] = {
	{ "same_name", cfg_enum, OFF(referral.rules.same_name), "off", 0, 0, 0, same_name_choices },
	{ "disposable_domains", cfg_string, OFF(referral.rules.disposable_domains), "", 0, 0, 0, NULL },
	{ "max_per_week", cfg_int, OFF(referral.rules.max_per_week), "0", 0, 0, 1000000, NULL },
	CFG_END
};

/*
 * No hold by default: a referral is confirmed, and its referrer thanked,
 * as soon as the friend's sale is planned, as before holds were.
 */
static const struct cfg_key referral_keys[] = {
	{ "link", cfg_string, OFF(referral.link), "", 0, 0, CFG_LINK_MAX, NULL },
	{ "landing", cfg_string, OFF(referral.landing), "", 0, 0, CFG_LINK_MAX, NULL },
	{ "hold", cfg_duration, OFF(referral.hold), "0s", 0, 0, 365 * DAY, NULL },
	{ "rules", cfg_group, 0, NULL, 0, 0, 0, referral_rules_keys },
	CFG_END
};

static const struct cfg_key attribution_keys[] = {
	{ "window", cfg_duration, OFF(attribution.window), "7d", 0, 0, 365 * DAY, NULL },
	CFG_END
};

static const struct cfg_key unsubscribe_keys[] = {
	{ "link", cfg_string, OFF(unsubscribe.link), "", 0, 0, CFG_LINK_MAX, NULL },
	{ "mailto", cfg_string, OFF(unsubscribe.mailto), "", 0, 0, 0, NULL },
	CFG_END
};

static const struct cfg_key http_keys[] = {
	{ "listen", cfg_listen, OFF(http.listen), "127.0.0.1:8025", 0, 0, 16, NULL },
	{ "public_url", cfg_string, OFF(http.public_url), "", 0, 0, CFG_PUBLIC_URL_MAX, NULL },
	{ "max_body", cfg_size, OFF(http.max_body), "1MB", 0, 1024, 64LL << 20, NULL },
	{ "timeout", cfg_duration, OFF(http.timeout), "10s", 0, 1, 3600, NULL },
	CFG_END
};

const char *const config_source_names[SOURCE_COUNT] = {
	[SOURCE_SHOPIFY] = "shopify",
	[SOURCE_WOOCOMMERCE] = "woocommerce",
	[SOURCE_STRIPE] = "stripe",
	[SOURCE_API] = "api",
};

/* Each secret may instead be the systemd credential of this name. */
static const char *const source_credentials[SOURCE_COUNT] = {
	[SOURCE_SHOPIFY] = "shopify-secret",
	[SOURCE_WOOCOMMERCE] = "woocommerce-secret",
	[SOURCE_STRIPE] = "stripe-secret",
	[SOURCE_API] = "api-token",
};

#define SOFF(source, field)	OFF(sources[source].field)

static const struct cfg_key shopify_keys[] = {
	{ "secret_file", cfg_string, SOFF(SOURCE_SHOPIFY, secret_file), "", 0, 0, 0, NULL },
	CFG_END
};

static const struct cfg_key woocommerce_keys[] = {
	{ "secret_file", cfg_string, SOFF(SOURCE_WOOCOMMERCE, secret_file), "", 0, 0, 0, NULL },
	CFG_END
};

/* Stripe's own libraries allow 5 minutes. */
static const struct cfg_key stripe_keys[] = {
	{ "secret_file", cfg_string, SOFF(SOURCE_STRIPE, secret_file), "", 0, 0, 0, NULL },
	{ "tolerance", cfg_duration, SOFF(SOURCE_STRIPE, tolerance), "5m", 0, 1, DAY, NULL },
	CFG_END
};

static const struct cfg_key api_keys[] = {
	{ "token_file", cfg_string, SOFF(SOURCE_API, secret_file), "", 0, 0, 0, NULL },
	CFG_END
};

static const struct cfg_key sources_keys[] = {
	{ "shopify", cfg_group, 0, NULL, 0, 0, 0, shopify_keys },
	{ "woocommerce", cfg_group, 0, NULL, 0, 0, 0, woocommerce_keys },
	{ "stripe", cfg_group, 0, NULL, 0, 0, 0, stripe_keys },
	{ "api", cfg_group, 0, NULL, 0, 0, 0, api_keys },
	CFG_END
};

static const struct cfg_key dkim_keys[] = {
	{ "domain", cfg_string, OFF(dkim.domain), "", 0, 0, 0, NULL },
	{ "selector", cfg_string, OFF(dkim.selector), "", 0, 0, 0, NULL },
	{ "key_file", cfg_string, OFF(dkim.key_file), "", 0, 0, 0, NULL },
	CFG_END
};

/*
 * Absent, a key keeps what it is about for good.  Both are applied once
 * a day, so less than a day would only be a typo.
 */
static const struct cfg_key privacy_keys[] = {
	{ "retention", cfg_duration, OFF(privacy.retention), NULL, 0, DAY, DURATION_MAX, NULL },
	{ "keep_message_bodies", cfg_duration, OFF(privacy.keep_message_bodies), NULL, 0, DAY, DURATION_MAX, NULL },
	CFG_END
};

/* Campaigns are read by config_campaigns(); this entry only names them. */
static const struct cfg_key top_keys[] = {
	{ "database", cfg_string, OFF(database), LOCALSTATEDIR "/lib/aftersale/aftersale.db", CFG_REQUIRED, 0, 0, NULL },
	{ "timezone", cfg_string, OFF(timezone), "UTC", CFG_REQUIRED, 0, 0, NULL },
	{ "templates", cfg_string, OFF(templates), "templates", CFG_REQUIRED, 0, 0, NULL },
	{ "log_level", cfg_enum, OFF(log_level), "info", 0, 0, 0, log_level_choices },
	{ "list_id", cfg_string, OFF(list_id), NULL, 0, 0, 0, NULL },
	{ "feedback_id", cfg_string, OFF(feedback_id), "", 0, 0, 0, NULL },
	{ "shop", cfg_group, 0, NULL, CFG_REQUIRED, 0, 0, shop_keys },
	{ "smtp", cfg_group, 0, NULL, CFG_REQUIRED, 0, 0, smtp_keys },
	{ "delivery", cfg_group, 0, NULL, 0, 0, 0, delivery_keys },
	{ "referral", cfg_group, 0, NULL, 0, 0, 0, referral_keys },
	{ "attribution", cfg_group, 0, NULL, 0, 0, 0, attribution_keys },
	{ "unsubscribe", cfg_group, 0, NULL, 0, 0, 0, unsubscribe_keys },
	{ "http", cfg_group, 0, NULL, 0, 0, 0, http_keys },
	{ "sources", cfg_group, 0, NULL, 0, 0, 0, sources_keys },
	{ "dkim", cfg_group, 0, NULL, 0, 0, 0, dkim_keys },
	{ "privacy", cfg_group, 0, NULL, 0, 0, 0, privacy_keys },
	{ "campaigns", NULL, 0, NULL, 0, 0, 0, NULL },
	CFG_END
};

static const struct cfg_key campaign_keys[] = {
	{ "name", cfg_string, COFF(name), NULL, CFG_REQUIRED, 0, 0, NULL },
	{ "on", cfg_enum, COFF(on), NULL, CFG_REQUIRED, 0, 0, trigger_choices },
	{ "after", cfg_duration, COFF(after), NULL, 0, 0, 365 * DAY, NULL },
	{ "before", cfg_duration, COFF(before), NULL, 0, 0, 365 * DAY, NULL },
	{ "template", cfg_string, COFF(template_name), NULL, CFG_REQUIRED, 0, 0, NULL },
	{ "sku", cfg_strings, COFF(sku), NULL, 0, 1, 64, NULL },
	{ "min_amount", cfg_amount, COFF(min_amount), NULL, 0, 0, 0, NULL },
	{ "send_window", cfg_window, COFF(send_window), NULL, 0, 0, 0, NULL },
	{ "expire_after", cfg_duration, COFF(expire_after), "0s", 0, 0, 365 * DAY, NULL },
	{ "stop_on", cfg_flags, COFF(stop_on), NULL, 0, 0, 8, stop_on_choices },
	{ "on_refund", cfg_enum, COFF(on_refund), "cancel", 0, 0, 0, on_refund_choices },
	{ "coupon", cfg_string, COFF(coupon), "", 0, 0, 0, NULL },
	{ "enabled", cfg_bool, COFF(enabled), "true", 0, 0, 0, NULL },
	CFG_END
};

/*
 * Walk one group against its table: every setting must be a known key,
 * every known key gets its value or its default.  `group` may be NULL
 * (the whole group is absent), in which case only defaults apply.
 */
static int
cfg_apply(struct cfg_ctx *ctx, const config_setting_t *group, int group_line,
    const struct cfg_key *table, void *base)
{
	int before = ctx->errors;

	for (int i = 0; group != NULL && i < config_setting_length(group); i++) {
		const config_setting_t	*s = config_setting_get_elem(group, i);
		const char		*name = config_setting_name(s);
		const char		*names[32], *hint;
		size_t			 n = 0;

		for (const struct cfg_key *k = table; k->name != NULL; k++) {
			if (strcmp(k->name, name) == 0)
				goto known;
			names[n++] = k->name;
		}
		hint = text_closest(name, names, n);
		if (hint != NULL)
			cfg_error(ctx, config_setting_source_line(s), "unknown "
			    "key \"%s%s\" (did you mean \"%s%s\"?)", ctx->path,
			    name, ctx->path, hint);
		else
			cfg_error(ctx, config_setting_source_line(s), "unknown "
			    "key \"%s%s\"", ctx->path, name);
known:
		;
	}

	for (const struct cfg_key *k = table; k->name != NULL; k++) {
		struct cfg_value v = { NULL, k->def, group_line };

		if (k->parse == NULL)
			continue;
		if (group != NULL)
			v.setting = config_setting_get_member(group, k->name);
		if (v.setting != NULL)
			v.line = config_setting_source_line(v.setting);
		else if (k->def == NULL && (k->flags & CFG_REQUIRED) &&
		    k->parse != cfg_group) {
			cfg_error(ctx, group_line, "missing required key "
			    "\"%s%s\"", ctx->path, k->name);
			continue;
		} else if (k->def == NULL && k->parse != cfg_group)
			continue;
		k->parse(ctx, k, &v, (char *)base + k->offset);
	}
	return ctx->errors > before ? -1 : 0;
}

static int
cfg_group(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_value *v, void *dst)
{
	struct cfg_ctx	 sub = *ctx;
	char		 path[64];
	int		 rc;

	if (v->setting == NULL && (key->flags & CFG_REQUIRED)) {
		cfg_error(ctx, v->line, "missing required group \"%s\" "
		    "(%s = { ... };)", key->name, key->name);
		return -1;
	}
	if (v->setting != NULL && !config_setting_is_group(v->setting)) {
		cfg_error(ctx, v->line, "%s must be a group: %s = { ... };",
		    key->name, key->name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s%s.", ctx->path, key->name);
	sub.path = path;
	/* A group's table holds offsets into its parent's struct. */
	rc = cfg_apply(&sub, v->setting, v->line, key->extra, dst);
	ctx->errors = sub.errors;
	return rc;
}

/* Relative paths in the file are relative to the file's folder. */
static char *
config_resolve(const struct config *cfg, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", cfg->dir, path);
}

/* Letters, digits and the characters of `also`, and not empty. */
static int
config_word_ok(const char *s, const char *also)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(also, *s) == NULL)
			return 0;
	return 1;
}

/* A DNS name: labels of letters, digits, '-' and '_' between dots. */
static int
config_dns_name_ok(const char *s)
{
	return config_word_ok(s, "-_.") && *s != '.' &&
	    s[strlen(s) - 1] != '.' && strstr(s, "..") == NULL &&
	    strlen(s) <= 253;
}

static int
config_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * referral.rules.disposable_domains: one domain a line, '#' to the end
 * of a line a comment, read whole at load so that a bad line is found
 * by check-config, not by the daemon at the first referral.
 */
static void
config_disposable_load(struct cfg_ctx *ctx, struct config *cfg)
{
	struct referral_rules	*r = &cfg->referral.rules;
	char			*path, *line = NULL, *p, *end;
	size_t			 size = 0, n = 0;
	long			 lineno = 0;
	FILE			*fp;

	if (*r->disposable_domains == '\0')
		return;
	path = config_resolve(cfg, r->disposable_domains);
	if ((fp = fopen(path, "r")) == NULL) {
		cfg_error(ctx, config_line(cfg, "referral.rules.disposable_domains"),
		    "referral.rules.disposable_domains: cannot read %s: %s",
		    path, strerror(errno));
		free(path);
		return;
	}
	while (getline(&line, &size, fp) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (end = p + strlen(p); end > p && isspace((unsigned char)end[-1]);)
			*--end = '\0';
		if (*p == '\0')
			continue;
		for (char *q = p; *q != '\0'; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!config_dns_name_ok(p) || strchr(p, '.') == NULL) {
			log_at(&ctx->errors, path, (int)lineno, "\"%.64s\" is not "
			    "a domain such as mailinator.com (one domain a line, "
			    "'#' for comments)", p);
			continue;
		}
		r->disposable = xreallocarray(r->disposable, n + 1,
		    sizeof(*r->disposable));
		r->disposable[n++] = xstrdup(p);
	}
	if (ferror(fp))
		cfg_error(ctx, config_line(cfg, "referral.rules.disposable_domains"),
		    "referral.rules.disposable_domains: cannot read %s: %s",
		    path, strerror(errno));
	fclose(fp);
	free(line);
	free(path);
	r->ndisposable = n;
	if (n > 0)
		qsort(r->disposable, n, sizeof(*r->disposable), config_compare);
}

/*
 * Whether the address is at a domain of referral.rules.disposable_domains
 * or under one (a throwaway service's subdomains are throwaway too).
 */
int
config_disposable(const struct referral_rules *rules, const char *address)
{
	const char	*at = strrchr(address, '@');
	char		 domain[256], *key;

	if (at == NULL || rules->ndisposable == 0)
		return 0;
	snprintf(domain, sizeof(domain), "%s", at + 1);
	for (char *q = domain; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	for (key = domain; key != NULL; key = strchr(key, '.')) {
		if (*key == '.')
			key++;
		if (bsearch(&key, rules->disposable, rules->ndisposable,
		    sizeof(*rules->disposable), config_compare) != NULL)
			return 1;
	}
	return 0;
}

static int
config_name_ok(const char *s)
{
	return strlen(s) <= 64 && config_word_ok(s, "-_");
}

/*
 * A campaign's templates, which may use {{coupon.*}} when it names a
 * pool.  Whether the pool has codes is the database's to say: the daemon
 * says so at start, and check-config when it can read the database.
 */
static void
config_templates(struct cfg_ctx *ctx, struct config *cfg, struct campaign *c)
{
	unsigned	 vars = TEMPLATE_VARS_MESSAGE;
	char		*path;

	if (*c->coupon != '\0' && !coupon_pool_ok(c->coupon))
		cfg_error(ctx, c->line, "coupon \"%.64s\" must be a pool's name "
		    "(letters, digits, '-', '_', at most %d)", c->coupon,
		    COUPON_POOL_MAX);
	else if (*c->coupon != '\0')
		vars |= TEMPLATE_VARS_COUPON;

	if (!config_name_ok(c->template_name)) {
		cfg_error(ctx, c->line, "template \"%s\" must be a plain name "
		    "(letters, digits, '-', '_') naming %s/NAME.txt",
		    c->template_name, cfg->templates_path);
		return;
	}
	path = xasprintf("%s/%s.txt", cfg->templates_path, c->template_name);
	if (access(path, F_OK) == -1)
		cfg_error(ctx, c->line, "template \"%s\" not found: %s does not "
		    "exist", c->template_name, path);
	else
		template_load(path, 1, vars, &ctx->errors, &c->text);
	free(path);

	path = xasprintf("%s/%s.html", cfg->templates_path, c->template_name);
	if (access(path, F_OK) == 0)
		template_load(path, 0, vars, &ctx->errors, &c->html);
	free(path);
}

/*
 * A campaign is timed by `after` the sale, or for reorder by `before` the
 * customer's expected next order; a reorder message is always replaced by
 * the next sale's, as stop_on = repeat_purchase does.  0, or -1 (said).
 */
static int
config_campaign_timing(struct cfg_ctx *ctx, const config_setting_t *g,
    int line, struct campaign *c)
{
	int	errors = ctx->errors;
	int	reorder = c->on == TRIGGER_REORDER;
	int	after = config_setting_get_member(g, "after") != NULL;
	int	before = config_setting_get_member(g, "before") != NULL;

	if (reorder && after)
		cfg_error(ctx, line, "\"after\" does not apply to a reorder "
		    "campaign: it is due \"before\" the expected next order");
	else if (reorder && !before)
		cfg_error(ctx, line, "missing required key \"before\" (how "
		    "long before the expected next order)");
	else if (!reorder && before)
		cfg_error(ctx, line, "\"before\" is for on = \"reorder\"; "
		    "this campaign is due \"after\" the sale");
	else if (!reorder && !after)
		cfg_error(ctx, line, "missing required key \"after\"");
	if (reorder)
		c->stop_on |= STOP_ON_REPEAT_PURCHASE;
	return ctx->errors > errors ? -1 : 0;
}

static void
config_campaigns(struct cfg_ctx *ctx, struct config *cfg)
{
	const config_setting_t	*list = config_lookup(&cfg->lc, "campaigns");
	char			 label[128];
	int			 n;

	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		cfg_error(ctx, config_setting_source_line(list), "campaigns must "
		    "be a list of groups: campaigns = ( { ... }, { ... } );");
		return;
	}
	n = config_setting_length(list);
	cfg->campaigns = xcalloc((size_t)n + 1, sizeof(*cfg->campaigns));
	for (int i = 0; i < n; i++) {
		const config_setting_t	*g = config_setting_get_elem(list, i);
		struct campaign		*c = &cfg->campaigns[cfg->ncampaigns];
		struct cfg_ctx		 sub = *ctx;
		const char		*name = NULL;
		int			 line = config_setting_source_line(g);

		if (!config_setting_is_group(g)) {
			cfg_error(ctx, line, "campaign %d must be a group "
			    "{ name = \"...\"; ... }", i + 1);
			continue;
		}
		config_setting_lookup_string(g, "name", &name);
		if (name != NULL)
			snprintf(label, sizeof(label), "campaign \"%.64s\": ", name);
		else
			snprintf(label, sizeof(label), "campaign %d: ", i + 1);
		sub.label = label;
		c->line = line;
		c->send_window = cfg->delivery.send_window;
		/* Timing is checked whatever else is wrong: all is said. */
		if (cfg_apply(&sub, g, line, campaign_keys, c) +
		    config_campaign_timing(&sub, g, line, c) == 0) {
			if (!config_name_ok(c->name))
				cfg_error(&sub, line, "the name must be letters, "
				    "digits, '-' and '_', at most 64");
			for (size_t j = 0; j < cfg->ncampaigns; j++)
				if (cfg->campaigns[j].name != NULL &&
				    strcmp(cfg->campaigns[j].name, c->name) == 0)
					cfg_error(&sub, line, "duplicate campaign "
					    "name; the first is at line %d",
					    cfg->campaigns[j].line);
			config_templates(&sub, cfg, c);
		}
		ctx->errors = sub.errors;
		cfg->ncampaigns++;
	}
}

/*
 * Split "Name <addr>", "<addr>" or a bare addr into its parts (malloc'd),
 * a quoted name unquoted.  Returns 0, or -1 when the brackets do not
 * close at the end.
 */
static int
config_split_address(const char *s, char **name, char **address)
{
	const char	*lt = strrchr(s, '<'), *name_end;
	size_t		 len;

	if (lt == NULL) {
		*address = xstrdup(s);
		*name = xstrdup("");
		return 0;
	}
	len = strlen(lt + 1);
	if (len == 0 || lt[len] != '>')
		return -1;
	*address = xstrndup(lt + 1, len - 1);
	for (name_end = lt; name_end > s && name_end[-1] == ' ';)
		name_end--;
	if (name_end - s >= 2 && *s == '"' && name_end[-1] == '"')
		*name = xstrndup(s + 1, (size_t)(name_end - s - 2));
	else
		*name = xstrndup(s, (size_t)(name_end - s));
	return 0;
}

/*
 * Split "Name <addr@example.com>" (or a bare address) into its parts.
 * Returns 0, or -1 (reported) when the address is unusable.
 */
static int
config_from(struct cfg_ctx *ctx, struct config *cfg, int line)
{
	const char *from = cfg->smtp.from, *why;

	if (config_split_address(from, &cfg->smtp.from_name,
	    &cfg->smtp.from_address) == -1) {
		cfg_error(ctx, line, "smtp.from: \"%s\" is not "
		    "\"Name <address>\" or an address", from);
		return -1;
	}
	if (strlen(cfg->smtp.from_name) > CFG_NAME_MAX)
		cfg_error(ctx, line, "smtp.from: the name is %zu bytes long; at "
		    "most %d fit in a mail header line",
		    strlen(cfg->smtp.from_name), CFG_NAME_MAX);
	if ((why = email_check(cfg->smtp.from_address)) != NULL) {
		cfg_error(ctx, line, "smtp.from: \"%s\" is not a valid address: "
		    "%s", cfg->smtp.from_address, why);
		return -1;
	}
	return 0;
}

static int
config_line(const struct config *cfg, const char *path)
{
	const config_setting_t *s = config_lookup(&cfg->lc, path);

	return s != NULL ? config_setting_source_line(s) : 1;
}

/*
 * The List-Id (RFC 2919): list_id as "Name <label.domain>" or a bare
 * label.domain, else the shop's name and followups at the domain of
 * smtp.from.  The id is a DNS name of two labels at least.
 */
static void
config_list_id(struct cfg_ctx *ctx, struct config *cfg)
{
	const char	*s = cfg->list_id, *id;
	int		 line = config_line(cfg, "list_id");

	if (s == NULL) {
		cfg->list.name = xstrdup(cfg->shop.name);
		cfg->list.id = xasprintf("followups.%s",
		    strrchr(cfg->smtp.from_address, '@') + 1);
		return;
	}
	if (config_split_address(s, &cfg->list.name, &cfg->list.id) == -1) {
		cfg_error(ctx, line, "list_id \"%s\" is not \"Name "
		    "<label.domain>\" or label.domain", s);
		return;
	}
	id = cfg->list.id;
	if (!config_dns_name_ok(id) || strchr(id, '.') == NULL)
		cfg_error(ctx, line, "list_id: \"%s\" is not a list id such as "
		    "\"followups.acme.example\" (letters, digits, '-' and '_' "
		    "between dots)", id);
	if (strlen(cfg->list.name) > CFG_NAME_MAX)
		cfg_error(ctx, line, "list_id: the name is %zu bytes long; at "
		    "most %d fit in a mail header line", strlen(cfg->list.name),
		    CFG_NAME_MAX);
}

/* "scheme://user[:password]@host...": an '@' before the path. */
static int
config_url_has_userinfo(const char *url)
{
	const char *p = strstr(url, "://");

	p = p != NULL ? p + 3 : url;
	return p[strcspn(p, "/?#@")] == '@';
}

/* A copy of url without its final slashes. */
static char *
config_strip_slash(const char *url)
{
	size_t len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	return xstrndup(url, len);
}

/*
 * The front door's URLs.  http.public_url gives the links in mail their
 * defaults (PUBLIC_URL/u/TOKEN, PUBLIC_URL/r/CODE) where the file sets
 * none, and shop.url gives referral.landing its own.
 */
static void
config_http(struct cfg_ctx *ctx, struct config *cfg)
{
	const char	*url = cfg->http.public_url, *host;
	char		*base, *shop;

	cfg->http.enabled = config_lookup(&cfg->lc, "http") != NULL;
	host = strncmp(url, "https://", 8) == 0 ? url + 8 :
	    strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
	if (*url != '\0' && (host == NULL || *host == '\0' || *host == '/' ||
	    strpbrk(url, "?# ") != NULL))
		cfg_error(ctx, config_line(cfg, "http.public_url"),
		    "http.public_url \"%s\" must be an http:// or https:// URL "
		    "with a host and no query, such as "
		    "\"https://acme.example/as\"", url);
	else if (*url != '\0')
		cfg->http.public_base = config_strip_slash(url);
	if ((base = cfg->http.public_base) != NULL) {
		if (config_lookup(&cfg->lc, "unsubscribe.link") == NULL)
			cfg->unsubscribe.link = cfg->unsubscribe.link_default =
			    xasprintf("%s/u/{{unsubscribe.token}}", base);
		if (config_lookup(&cfg->lc, "referral.link") == NULL)
			cfg->referral.link = cfg->referral.link_default =
			    xasprintf("%s/r/{{referral.code}}", base);
	}
	if (*cfg->referral.landing == '\0' && *cfg->shop.url != '\0') {
		shop = config_strip_slash(cfg->shop.url);
		cfg->referral.landing = cfg->referral.landing_default =
		    xasprintf("%s/?ref={{referral.code}}", shop);
		free(shop);
	}
	if (cfg->http.enabled && *cfg->referral.landing == '\0')
		cfg_error(ctx, config_line(cfg, "http"), "referral.landing and "
		    "shop.url are both empty: /r/CODE links need somewhere to "
		    "send people; set one of them");
	template_parse_text(cfg->referral.landing, strlen(cfg->referral.landing),
	    VAR_BIT(VAR_REFERRAL_CODE), ctx->file,
	    config_line(cfg, "referral.landing"), &ctx->errors,
	    &cfg->referral.landing_text);
}

/*
 * A source is on when its block is there, and its routes answer only
 * then: a webhook nobody configured is a 404, not a 401.  Webhooks come
 * through the front door, so a source without it is a mistake.
 */
static void
config_sources(struct cfg_ctx *ctx, struct config *cfg)
{
	char	path[64];
	int	any = 0;

	for (int i = 0; i < SOURCE_COUNT; i++) {
		snprintf(path, sizeof(path), "sources.%s", config_source_names[i]);
		any |= cfg->sources[i].enabled =
		    config_lookup(&cfg->lc, path) != NULL;
	}
	if (any && !cfg->http.enabled)
		cfg_error(ctx, config_line(cfg, "sources"), "sources are set but "
		    "there is no http block: webhooks and the API come in "
		    "through it; add http = { ... };");
}

/*
 * The dkim block's names: a selector is required, the domain defaults to
 * smtp.from's, which DMARC wants the signature aligned with.
 */
static void
config_dkim_names(struct cfg_ctx *ctx, struct config *cfg)
{
	const char *at;

	if (!(cfg->dkim.enabled = config_lookup(&cfg->lc, "dkim") != NULL))
		return;
	if (*cfg->dkim.selector == '\0')
		cfg_error(ctx, config_line(cfg, "dkim"), "dkim.selector is "
		    "missing: the name of the key's DNS record, "
		    "SELECTOR._domainkey.DOMAIN");
	else if (!config_dns_name_ok(cfg->dkim.selector))
		cfg_error(ctx, config_line(cfg, "dkim.selector"), "dkim.selector "
		    "\"%s\" is not a DNS label such as \"as1\"",
		    cfg->dkim.selector);
	if (*cfg->dkim.domain != '\0' && !config_dns_name_ok(cfg->dkim.domain))
		cfg_error(ctx, config_line(cfg, "dkim.domain"), "dkim.domain "
		    "\"%s\" is not a domain name such as \"acme.example\"",
		    cfg->dkim.domain);
	at = cfg->smtp.from_address != NULL ?
	    strrchr(cfg->smtp.from_address, '@') : NULL;
	cfg->dkim.signing_domain = *cfg->dkim.domain != '\0' ?
	    cfg->dkim.domain : at != NULL ? at + 1 : "";
}

/* What no single key can check: how keys fit together, and the world. */
static void
config_check(struct cfg_ctx *ctx, struct config *cfg)
{
	const char	*why, *url = cfg->smtp.url;
	struct stat	 st;

	/* Only checked: cli_open() sets it, once (timestamp.c says why). */
	if (!timestamp_zone_valid(cfg->timezone))
		cfg_error(ctx, config_line(cfg, "timezone"), "timezone \"%s\" is "
		    "not a known zone name such as \"Europe/London\" (see "
		    "/usr/share/zoneinfo; install tzdata)", cfg->timezone);
	if (!money_currency_valid(cfg->shop.currency))
		cfg_error(ctx, config_line(cfg, "shop.currency"), "shop.currency "
		    "\"%s\" is not a three-letter ISO 4217 code such as \"EUR\"",
		    cfg->shop.currency);
	/*
	 * libcurl would take "smtp://user:password@host" and the URL is
	 * logged with every relay error: the password would end up in the
	 * journal.  Refuse it first, before any message that echoes the URL.
	 */
	if (config_url_has_userinfo(url))
		cfg_error(ctx, config_line(cfg, "smtp.url"), "smtp.url must not "
		    "hold a user name or password (the part before \"@\"): put "
		    "the user in smtp.username and the password in "
		    "smtp.password_file or the systemd credential smtp-password");
	else if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
		cfg_error(ctx, config_line(cfg, "smtp.url"), "smtp.url \"%s\" must "
		    "start with smtp:// or smtps://", url);
	else if ((strncmp(url, "smtps://", 8) == 0) !=
	    (cfg->smtp.tls == SMTP_TLS_IMPLICIT))
		cfg_error(ctx, config_line(cfg, "smtp.tls"), "smtp.tls \"%s\" does "
		    "not fit smtp.url \"%s\": use smtps:// with tls = \"implicit\" "
		    "and smtp:// otherwise", tls_choices[cfg->smtp.tls], url);
	if (!isalpha((unsigned char)*cfg->shop.language) ||
	    !config_word_ok(cfg->shop.language, "-") ||
	    strlen(cfg->shop.language) > 35)
		cfg_error(ctx, config_line(cfg, "shop.language"), "shop.language "
		    "\"%s\" is not a language tag such as \"en\" or \"de-CH\"",
		    cfg->shop.language);
	if (config_from(ctx, cfg, config_line(cfg, "smtp.from")) == 0)
		config_list_id(ctx, cfg);
	if (*cfg->feedback_id != '\0' &&
	    (!config_word_ok(cfg->feedback_id, "-_.") ||
	    strlen(cfg->feedback_id) > 64))
		cfg_error(ctx, config_line(cfg, "feedback_id"), "feedback_id "
		    "\"%s\" must be letters, digits, '-', '_' and '.', at most 64: "
		    "it is a field of Feedback-ID, CAMPAIGN:%s:aftersale",
		    cfg->feedback_id, cfg->feedback_id);
	if (cfg->smtp.reply_to[0] != '\0' &&
	    (why = email_check(cfg->smtp.reply_to)) != NULL)
		cfg_error(ctx, config_line(cfg, "smtp.reply_to"), "smtp.reply_to "
		    "\"%s\" is not a valid address: %s", cfg->smtp.reply_to, why);
	if (cfg->unsubscribe.mailto[0] != '\0' &&
	    (why = email_check(cfg->unsubscribe.mailto)) != NULL)
		cfg_error(ctx, config_line(cfg, "unsubscribe.mailto"),
		    "unsubscribe.mailto \"%s\" is not a valid address: %s",
		    cfg->unsubscribe.mailto, why);
	config_http(ctx, cfg);
	config_sources(ctx, cfg);
	config_disposable_load(ctx, cfg);
	config_dkim_names(ctx, cfg);
	template_parse_text(cfg->referral.link, strlen(cfg->referral.link),
	    VAR_BIT(VAR_REFERRAL_CODE), ctx->file,
	    config_line(cfg, "referral.link"), &ctx->errors,
	    &cfg->referral.link_text);
	template_parse_text(cfg->unsubscribe.link, strlen(cfg->unsubscribe.link),
	    VAR_BIT(VAR_UNSUBSCRIBE_TOKEN), ctx->file,
	    config_line(cfg, "unsubscribe.link"), &ctx->errors,
	    &cfg->unsubscribe.link_text);
	if (stat(cfg->templates_path, &st) == -1 || !S_ISDIR(st.st_mode))
		cfg_error(ctx, config_line(cfg, "templates"), "templates folder "
		    "%s does not exist", cfg->templates_path);
}

const char *
config_default_path(void)
{
	const char *env = getenv("AFTERSALE_CONFIG");

	return env != NULL && *env != '\0' ? env :
	    SYSCONFDIR "/aftersale/aftersale.conf";
}

/*
 * Load and validate the whole file, reporting every problem as
 * "FILE:LINE: message".  Returns 0 and a config the caller frees with
 * config_free(), or -1 when there was any problem.
 */
int
config_load(const char *path, struct config **out)
{
	struct config	*cfg;
	struct cfg_ctx	 ctx = { path, "", "", 0 };
	char		*slash;

	cfg = xcalloc(1, sizeof(*cfg));
	config_init(&cfg->lc);
	cfg->path = xstrdup(path);
	cfg->dir = xstrdup(path);
	if ((slash = strrchr(cfg->dir, '/')) != NULL)
		*(slash == cfg->dir ? slash + 1 : slash) = '\0';
	else
		strcpy(cfg->dir, ".");
	config_set_include_dir(&cfg->lc, cfg->dir);

	if (access(path, R_OK) == -1) {
		log_error("%s: cannot read the configuration: %s%s", path,
		    strerror(errno), errno == ENOENT ? " (use -c FILE, or set "
		    "AFTERSALE_CONFIG)" : "");
		goto fail;
	}
	if (config_read_file(&cfg->lc, path) == CONFIG_FALSE) {
		log_at(&ctx.errors, config_error_file(&cfg->lc) ?
		    config_error_file(&cfg->lc) : path,
		    config_error_line(&cfg->lc), "%s",
		    config_error_text(&cfg->lc));
		goto fail;
	}

	cfg_apply(&ctx, config_root_setting(&cfg->lc), 1, top_keys, cfg);
	if (ctx.errors > 0)
		goto fail;
	cfg->database_path = config_resolve(cfg, cfg->database);
	cfg->templates_path = config_resolve(cfg, cfg->templates);
	config_check(&ctx, cfg);
	config_campaigns(&ctx, cfg);
	if (ctx.errors > 0)
		goto fail;
	*out = cfg;
	return 0;

fail:
	config_free(cfg);
	return -1;
}

/*
 * One secret: its file when one is named, else its systemd credential.
 * Outside `run` (for_run 0) a credential may be missing: only the service
 * sees those.  `what` names the setting ("smtp.password_file"), `block`
 * the group that stands for it when no file is named ("smtp"), and
 * `missing` what to say when there is none at all (NULL: none needed).
 */
static void
config_secret(struct cfg_ctx *ctx, struct config *cfg, const char *file,
    const char *what, const char *block, const char *credential,
    const char *missing, int for_run, enum secret_shape shape,
    struct secret **out)
{
	char	why[4300], *path;
	int	rc;

	secret_free(*out);
	*out = NULL;
	/* Relative to the file's folder, like every other path in it. */
	path = *file != '\0' ? config_resolve(cfg, file) : xstrdup("");
	rc = secret_read(path, credential, shape, out, why, sizeof(why));
	free(path);
	if (rc == -1)
		cfg_error(ctx, config_line(cfg, *file != '\0' ? what : block),
		    "%s%s: %s", *file != '\0' ? what : "the systemd credential ",
		    *file != '\0' ? "" : credential, why);
	else if (*out == NULL && missing != NULL && (for_run ||
	    *file != '\0' || getenv("CREDENTIALS_DIRECTORY") != NULL))
		cfg_error(ctx, config_line(cfg, block), "%s", missing);
}

/*
 * Whether two domains are aligned as DMARC's relaxed mode asks, as far as
 * we can tell without the public suffix list: one is the other or below
 * it.
 */
static int
config_aligned(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la < lb)
		return config_aligned(b, a);
	return strcasecmp(a + la - lb, b) == 0 &&
	    (la == lb || a[la - lb - 1] == '.');
}

/*
 * The DKIM key (dkim.key_file or the credential dkim-key), loaded and
 * tried: `run`, check-config and preview all refuse a key that cannot
 * sign.  A signing domain that does not align with smtp.from's is only
 * warned about: the signature is valid, but DMARC will not count it.
 */
static void
config_dkim_key(struct cfg_ctx *ctx, struct config *cfg, int for_run)
{
	const char	*from = strrchr(cfg->smtp.from_address, '@') + 1;
	struct secret	*pem = NULL;
	char		 why[512];

	dkimkey_free(cfg->dkim.key);
	cfg->dkim.key = NULL;
	if (!cfg->dkim.enabled)
		return;
	config_secret(ctx, cfg, cfg->dkim.key_file, "dkim.key_file", "dkim",
	    "dkim-key", "dkim has no key: set dkim.key_file or the systemd "
	    "credential dkim-key", for_run, SECRET_PEM, &pem);
	if (pem == NULL)
		return;
	if (dkimkey_load(pem, cfg->dkim.signing_domain, cfg->dkim.selector,
	    &cfg->dkim.key, why, sizeof(why)) == -1) {
		cfg_error(ctx, config_line(cfg, *cfg->dkim.key_file != '\0' ?
		    "dkim.key_file" : "dkim"), "%s%s: %s",
		    *cfg->dkim.key_file != '\0' ? "dkim.key_file " :
		    "the systemd credential dkim-key",
		    cfg->dkim.key_file, why);
		return;
	}
	if (!config_aligned(cfg->dkim.signing_domain, from))
		log_warnx("%s:%d: dkim.domain \"%s\" is neither smtp.from's "
		    "domain \"%s\" nor above or below it: receivers checking "
		    "DMARC will not count this signature", cfg->path,
		    config_line(cfg, "dkim.domain"), cfg->dkim.signing_domain,
		    from);
}

/*
 * Read the secrets the configuration names (the relay password, the
 * sources' webhook secrets and API token, the DKIM key), each problem reported at its
 * FILE:LINE.  Only `run` and `check-config` do: the other commands never
 * need them, and may run as a user who cannot read them.  Outside `run`
 * (for_run 0), a secret that is to come from a systemd credential may be
 * missing: only the service sees those.  Returns 0, or -1 when there was
 * any problem.
 */
int
config_secrets(struct config *cfg, int for_run)
{
	struct cfg_ctx	ctx = { cfg->path, "", "", 0 };
	char		what[96], block[64], missing[320];

	/*
	 * A relay without a login needs no password, and the unit's
	 * credential file is then left empty: nothing to read.
	 */
	secret_free(cfg->smtp.password);
	cfg->smtp.password = NULL;
	if (cfg->smtp.username[0] != '\0') {
		config_secret(&ctx, cfg, cfg->smtp.password_file,
		    "smtp.password_file", "smtp.username", "smtp-password",
		    "smtp.username is set but there is no password: set "
		    "smtp.password_file or the systemd credential smtp-password",
		    for_run, SECRET_LINE, &cfg->smtp.password);
	}
	for (int i = 0; i < SOURCE_COUNT; i++) {
		struct source_config *src = &cfg->sources[i];

		if (!src->enabled)
			continue;
		snprintf(block, sizeof(block), "sources.%s",
		    config_source_names[i]);
		snprintf(what, sizeof(what), "%s.%s", block, i == SOURCE_API ?
		    "token_file" : "secret_file");
		snprintf(missing, sizeof(missing), "%s has no %s: set %s or the "
		    "systemd credential %s", block, i == SOURCE_API ? "token" :
		    "secret", what, source_credentials[i]);
		config_secret(&ctx, cfg, src->secret_file, what, block,
		    source_credentials[i], missing, for_run, SECRET_LINE,
		    &src->secret);
	}
	config_dkim_key(&ctx, cfg, for_run);
	return ctx.errors > 0 ? -1 : 0;
}

/*
 * The DKIM key alone, for preview, which shows the signed message but
 * needs no other secret.  Returns 0, or -1 when it was refused.
 */
int
config_dkim(struct config *cfg, int for_run)
{
	struct cfg_ctx ctx = { cfg->path, "", "", 0 };

	config_dkim_key(&ctx, cfg, for_run);
	return ctx.errors > 0 ? -1 : 0;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	secret_free(cfg->smtp.password);
	for (int i = 0; i < SOURCE_COUNT; i++)
		secret_free(cfg->sources[i].secret);
	dkimkey_free(cfg->dkim.key);
	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		free(cfg->campaigns[i].sku.v);
		template_free(cfg->campaigns[i].text);
		template_free(cfg->campaigns[i].html);
	}
	free(cfg->campaigns);
	free(cfg->delivery.retry.v);
	template_text_free(&cfg->referral.link_text);
	template_text_free(&cfg->unsubscribe.link_text);
	template_text_free(&cfg->referral.landing_text);
	free(cfg->referral.link_default);
	free(cfg->referral.landing_default);
	for (size_t i = 0; i < cfg->referral.rules.ndisposable; i++)
		free(cfg->referral.rules.disposable[i]);
	free(cfg->referral.rules.disposable);
	free(cfg->unsubscribe.link_default);
	free(cfg->http.listen.v);
	free(cfg->http.public_base);
	free(cfg->smtp.from_address);
	free(cfg->smtp.from_name);
	free(cfg->list.name);
	free(cfg->list.id);
	config_destroy(&cfg->lc);
	free(cfg->database_path);
	free(cfg->templates_path);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const struct campaign *
config_campaign(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ncampaigns; i++)
		if (strcmp(cfg->campaigns[i].name, name) == 0)
			return &cfg->campaigns[i];
	return NULL;
}
