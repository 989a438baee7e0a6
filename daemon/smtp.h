/* SMTP delivery with libcurl: one relay connection per worker thread. */
#ifndef AFTERSALE_SMTP_H
#define AFTERSALE_SMTP_H

#include <curl/curl.h>
#include <stdint.h>

#include "config.h"

/* How far a transaction got: the last command sent, or the message's end. */
enum smtp_stage {
	SMTP_STAGE_CONNECT,	/* nothing sent yet: connect, TLS, greeting */
	SMTP_STAGE_EHLO,
	SMTP_STAGE_STARTTLS,
	SMTP_STAGE_AUTH,
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_DATA,	/* DATA sent; the body going out */
	SMTP_STAGE_END,		/* the final dot sent: waiting for its reply */
	SMTP_STAGE_OTHER,	/* RSET, NOOP... */
};

/* What went wrong, as the transport sees it (no queue decision here). */
enum smtp_error {
	SMTP_OK,
	SMTP_REPLY,		/* the relay answered 4xx/5xx: see code */
	SMTP_TIMEOUT,		/* no reply in time */
	SMTP_BROKEN,		/* the connection broke or made no sense */
	SMTP_UNREACHABLE,	/* no connection: name, refused, unreachable */
	SMTP_TLS,		/* TLS could not be set up or verified */
	SMTP_LOGIN,		/* AUTH refused */
	SMTP_LOCAL,		/* our side: no memory, no handle */
	SMTP_ABORTED,		/* we stopped the transfer (shutting down) */
};

/* What happened to one message: filled by smtp_send(). */
struct smtp_result {
	enum smtp_error	 error;
	enum smtp_stage	 stage;
	int		 code;		/* the last reply code, 0 when none */
	char		 enhanced[16];	/* RFC 3463 "5.1.1", or "" */
	char		 reply[512];	/* the last reply line, printable */
	char		 detail[CURL_ERROR_SIZE];  /* libcurl's words */
	int		 maybe_delivered; /* the dot went out, no reply read */
	int		 reusable;	/* the connection may carry another */
};

/*
 * One connection to the relay.  Its easy handle keeps the connection open
 * between messages; it belongs to one sender thread.
 */
struct smtp_conn {
	CURL			*easy;
	int			(*may_end)(void *);	/* before the end of DATA */
	void			*may_end_arg;
	struct curl_slist	*rcpt;
	const char		*text;		/* the transfer in progress */
	size_t			 len;
	size_t			 offset;
	long			 response;
	char			 stage[12];	/* the last command: MAIL, RCPT... */
	char			 reply[512];	/* the server's last line */
	char			 error[CURL_ERROR_SIZE];
	int			 quitting;
	int			 in_auth;	/* AUTH sent, no final reply yet */
	/* Per reply timeouts (RFC 5321 4.5.3.2), kept by smtp_progress() */
	int64_t			 timeout_ms;	/* smtp.timeout */
	int64_t			 data_timeout_ms; /* smtp.data_timeout */
	int64_t			 wait_from;	/* ms: last sign of life */
	int			 at_end;	/* the dot is out, no reply yet */
	int			 timed_out;
	curl_off_t		 uploaded;
};

int	smtp_conn_init(struct smtp_conn *c, const struct config *cfg,
	    const char *password);
void	smtp_conn_cleanup(struct smtp_conn *c);
void	smtp_send(struct smtp_conn *c, const char *rcpt, const char *text,
	    size_t len, struct smtp_result *r);
const char *smtp_stage_name(enum smtp_stage stage);

#endif
