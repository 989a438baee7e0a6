/* SMTP delivery with libcurl: one relay connection per worker thread. */
#ifndef AFTERSALE_SMTP_H
#define AFTERSALE_SMTP_H

#include <curl/curl.h>

#include "config.h"
#include "queue.h"

/*
 * One connection to the relay.  Its easy handle keeps the connection open
 * between messages; it belongs to one sender thread.
 */
struct smtp_conn {
	CURL			*easy;
	int			(*may_end)(void *);	/* before the end of DATA */
	void			*may_end_arg;
	struct curl_slist	*rcpt;
	const struct outgoing	*msg;		/* the transfer in progress */
	size_t			 offset;
	CURLcode		 code;		/* what happened */
	long			 response;
	char			 stage[12];	/* the last command: MAIL, RCPT... */
	char			 reply[512];	/* the server's last line */
	char			 error[CURL_ERROR_SIZE];
	int			 quitting;
	int			 in_auth;	/* AUTH sent, no final reply yet */
};

int	smtp_conn_init(struct smtp_conn *c, const struct config *cfg,
	    const char *password);
void	smtp_conn_cleanup(struct smtp_conn *c);
void	smtp_send(struct smtp_conn *c, const struct outgoing *msg);
enum queue_outcome smtp_outcome(const struct smtp_conn *c, char *why,
	    size_t size);

#endif
