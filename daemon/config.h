/* Configuration: libconfig text, validated key by key against tables. */
#ifndef AFTERSALE_CONFIG_H
#define AFTERSALE_CONFIG_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dkimkey.h"
#include "log.h"
#include "secret.h"
#include "template.h"

enum smtp_tls {
	SMTP_TLS_STARTTLS,
	SMTP_TLS_IMPLICIT,
	SMTP_TLS_NONE,
};

enum trigger {
	TRIGGER_SALE,
	TRIGGER_FIRST_SALE,
	TRIGGER_REPEAT_SALE,
	TRIGGER_REFERRAL_CONVERTED,
	TRIGGER_REORDER,	/* due `before` the expected next order */
};

/* stop_on's words, bit by bit in the order config.c lists them. */
#define STOP_ON_REPEAT_PURCHASE	0x1u
#define STOP_ON_REFERRED_FRIEND	0x2u	/* a friend they referred bought */

/* What a full refund of a sale does to its waiting messages. */
enum on_refund {
	ON_REFUND_CANCEL,
	ON_REFUND_KEEP,
};

/* Minutes after local midnight; end < start wraps past midnight. */
struct window {
	int	start;
	int	end;
};

struct durations {
	int64_t	*v;
	size_t	 n;
};

struct strings {
	const char	**v;
	size_t		  n;
};

/* An address to listen on: http.listen's "127.0.0.1:8025", parsed. */
struct listen_address {
	char			 text[64];	/* as written */
	int			 line;
	struct sockaddr_storage	 addr;
	socklen_t		 len;
};

struct listen_addresses {
	struct listen_address	*v;
	size_t			 n;
};

/*
 * The front door's sources of sales (sources = { ... }): a shop platform
 * that signs its webhooks, or the generic API's bearer token.  The order
 * is the routes' and the metrics'.
 */
enum source {
	SOURCE_SHOPIFY,
	SOURCE_WOOCOMMERCE,
	SOURCE_STRIPE,
	SOURCE_API,
	SOURCE_COUNT
};

extern const char *const config_source_names[SOURCE_COUNT];

struct source_config {
	int		 enabled;	/* its block is there */
	const char	*secret_file;	/* secret_file, or api's token_file */
	struct secret	*secret;	/* config_secrets(); NULL until then */
	int64_t		 tolerance;	/* Stripe: seconds a signature's time
					   may be off ours, either way */
};

/*
 * referral.rules: what sends a new referral to review rather than on
 * through its hold.
 */
struct referral_rules {
	int		 same_name;	/* 1: the buyer is named as the referrer */
	const char	*disposable_domains;	/* the file as written, or "" */
	char		**disposable;	/* its domains, lower case, sorted */
	size_t		 ndisposable;
	int		 max_per_week;	/* a referrer's referrals; 0: any */
};

struct campaign {
	const char	*name;
	int		 on;		/* enum trigger */
	int64_t		 after;		/* not for reorder */
	int64_t		 before;	/* reorder only */
	const char	*template_name;
	struct strings	 sku;		/* globs; empty matches all */
	int64_t		 min_amount;	/* thousandths; 0 for none */
	struct window	 send_window;	/* defaults to delivery's */
	int64_t		 expire_after;	/* 0: never */
	unsigned	 stop_on;	/* STOP_ON_* */
	int		 on_refund;	/* enum on_refund */
	const char	*coupon;	/* the pool its messages take a code
					   from; "" for none */
	int		 enabled;
	int		 line;
	struct template	*text;		/* NAME.txt */
	struct template	*html;		/* NAME.html, or NULL */
};

struct config {
	config_t	 lc;		/* owns the strings below */
	char		*path;
	char		*dir;		/* relative paths start here */
	const char	*database;	/* as written */
	const char	*templates;	/* as written */
	char		*database_path;	/* resolved against dir */
	char		*templates_path;
	const char	*timezone;
	int		 log_level;	/* enum log_level */
	const char	*list_id;	/* as written, or NULL */
	const char	*feedback_id;	/* "" for no Feedback-ID */

	/* List-Id: list_id's parts, or the default's. */
	struct {
		char	*name;
		char	*id;
	} list;

	struct {
		const char	*name;
		const char	*url;
		const char	*currency;
		const char	*language;	/* of the templates' HTML */
	} shop;

	struct {
		const char	*url;
		int		 tls;		/* enum smtp_tls */
		const char	*ca_file;
		const char	*username;
		const char	*password_file;
		struct secret	*password;	/* config_secrets(); or NULL */
		const char	*from;
		char		*from_name;	/* the display name of from */
		char		*from_address;	/* the address part of from */
		const char	*reply_to;
		int		 max_connections;
		double		 rate;
		int64_t		 timeout;	/* per command reply */
		int64_t		 data_timeout;	/* the end-of-DATA reply */
	} smtp;

	struct {
		struct durations	retry;
		int64_t			give_up_after;
		int64_t			min_gap;
		struct window		send_window;
	} delivery;

	struct {
		const char		*link;
		struct template_text	 link_text;
		const char		*landing;	/* where /r/CODE sends */
		struct template_text	 landing_text;
		char			*link_default;	/* from http.public_url */
		char			*landing_default; /* from shop.url */
		int64_t			 hold;		/* pending this long */
		struct referral_rules	 rules;
	} referral;

	struct {
		int64_t			window;
	} attribution;

	struct {
		const char		*link;
		struct template_text	 link_text;
		const char		*mailto;
		char			*link_default;	/* from http.public_url */
	} unsubscribe;

	/* The front door; no http block, no listener. */
	struct {
		int			 enabled;	/* the block is there */
		struct listen_addresses	 listen;
		const char		*public_url;	/* as written */
		char			*public_base;	/* without a final '/' */
		int64_t			 max_body;	/* bytes */
		int64_t			 timeout;	/* to send a whole request */
	} http;

	struct source_config	 sources[SOURCE_COUNT];

	/* DKIM signing; no dkim block, no signature. */
	struct {
		int		 enabled;	/* the block is there */
		const char	*domain;	/* as written, or "" */
		const char	*selector;
		const char	*key_file;
		const char	*signing_domain; /* domain, or smtp.from's */
		struct dkimkey	*key;		/* config_dkim(); or NULL */
	} dkim;

	/* What is kept how long (privacy.c); 0: for good. */
	struct {
		int64_t			 retention;	/* since the last sale */
		int64_t			 keep_message_bodies;
	} privacy;

	struct campaign	*campaigns;
	size_t		 ncampaigns;
};

int	config_load(const char *path, struct config **out);
int	config_secrets(struct config *cfg, int for_run);
int	config_dkim(struct config *cfg, int for_run);
void	config_free(struct config *cfg);
const struct campaign *config_campaign(const struct config *cfg,
	    const char *name);
const char *config_default_path(void);
int	config_disposable(const struct referral_rules *rules,
	    const char *address);

#endif
