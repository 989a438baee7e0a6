/* SMTP delivery with libcurl: one relay connection per worker thread. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "smtp.h"

/*
 * The message text.  libcurl stops reading at the size it was told and
 * never asks for the end, so the last byte is held back until may_end()
 * says the message may be completed.
 */
static size_t
smtp_read(char *out, size_t size, size_t nmemb, void *arg)
{
	struct smtp_conn	*c = arg;
	size_t			 left = c->msg->text.len - c->offset;
	size_t			 n = size * nmemb < left ? size * nmemb : left;

	if (c->may_end != NULL && n == left && left > 1)
		n--;
	else if (c->may_end != NULL && left == 1 && !c->may_end(c->may_end_arg))
		return CURL_READFUNC_ABORT;
	memcpy(out, c->msg->text.data + c->offset, n);
	c->offset += n;
	return n;
}

/* Printable ASCII only: server replies end up in logs and the database. */
static void
smtp_copy_line(char *dst, size_t size, const char *data, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		if (data[i] == '\r' || data[i] == '\n')
			break;
		dst[n++] = isprint((unsigned char)data[i]) ? data[i] : '?';
	}
	dst[n] = '\0';
}

/*
 * The commands whose verb may name a stage.  Anything else sent is not
 * looked at: during AUTH the client sends bare base64 (the credential),
 * which must never become a stage, a log line or last_error.
 */
static const char *const smtp_verbs[] = {
	"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET",
	"NOOP", "QUIT",
};

/* The known verb `data` starts with, or NULL. */
static const char *
smtp_verb(const char *data, size_t len)
{
	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++) {
		size_t n = strlen(smtp_verbs[i]);

		if (len >= n && strncasecmp(data, smtp_verbs[i], n) == 0 &&
		    (len == n || data[n] == ' ' || data[n] == '\r'))
			return smtp_verbs[i];
	}
	return NULL;
}

/*
 * libcurl shows us the dialogue: remember the verb of the last command
 * (never its arguments: AUTH carries the password) and the server's last
 * reply line, to classify failures and to log them.  From AUTH until the
 * server's final answer to it, lines sent are SASL continuations (base64
 * of the user and password) and are skipped whole, whatever they look
 * like; the server's 334 challenges are not kept either.
 */
static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t len, void *arg)
{
	struct smtp_conn	*c = arg;
	const char		*verb;

	(void)h;
	if (type == CURLINFO_HEADER_OUT) {
		if (c->in_auth)
			return 0;
		if ((verb = smtp_verb(data, len)) == NULL)
			return 0;
		/* What follows a failure (QUIT and its 221) says nothing
		 * about it. */
		if (strcmp(verb, "QUIT") == 0)
			c->quitting = 1;
		if (c->quitting)
			return 0;
		snprintf(c->stage, sizeof(c->stage), "%s", verb);
		c->in_auth = strcmp(verb, "AUTH") == 0;
	} else if (type == CURLINFO_HEADER_IN) {
		if (c->in_auth && len >= 3 && strncmp(data, "334", 3) == 0)
			return 0;
		/* A final reply (not a continuation line "250-") ends AUTH. */
		if (len >= 4 && data[3] != '-')
			c->in_auth = 0;
		if (!c->quitting)
			smtp_copy_line(c->reply, sizeof(c->reply), data, len);
	}
	return 0;
}

/*
 * Make the connection's easy handle.  TLS verification stays on whatever
 * the configuration says: ca_file adds a CA, it never turns checks off.
 */
int
smtp_conn_init(struct smtp_conn *c, const struct config *cfg,
    const char *password)
{
	CURL *h;

	memset(c, 0, sizeof(*c));
	if ((h = curl_easy_init()) == NULL)
		return -1;
	c->easy = h;
	curl_easy_setopt(h, CURLOPT_URL, cfg->smtp.url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_USE_SSL, cfg->smtp.tls == SMTP_TLS_NONE ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->smtp.ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->smtp.ca_file);
	if (cfg->smtp.username[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->smtp.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, password ? password : "");
	}
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, cfg->smtp.from_address);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read);
	curl_easy_setopt(h, CURLOPT_READDATA, c);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)cfg->smtp.timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)cfg->smtp.timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->error);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);	/* feeds smtp_debug */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, smtp_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
	return 0;
}

void
smtp_conn_cleanup(struct smtp_conn *c)
{
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->rcpt);
	memset(c, 0, sizeof(*c));
}

/*
 * Deliver one message; blocks until the relay answered the end of DATA or
 * the transfer failed.  Runs on a sender thread (see sender.c).
 */
void
smtp_send(struct smtp_conn *c, const struct outgoing *msg)
{
	curl_slist_free_all(c->rcpt);
	c->rcpt = curl_slist_append(NULL, msg->rcpt);
	c->msg = msg;
	c->offset = 0;
	c->response = 0;
	c->stage[0] = '\0';
	c->reply[0] = '\0';
	c->error[0] = '\0';
	c->quitting = 0;
	c->in_auth = 0;
	if (c->easy == NULL || c->rcpt == NULL) {
		c->code = c->easy == NULL ? CURLE_FAILED_INIT : CURLE_OUT_OF_MEMORY;
		return;
	}
	curl_easy_setopt(c->easy, CURLOPT_MAIL_RCPT, c->rcpt);
	curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)msg->text.len);
	c->code = curl_easy_perform(c->easy);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->response);
}

/*
 * What the transfer means for the message.  A relay that cannot be used
 * at all (unreachable, TLS, login, our sender refused) is not the
 * message's fault: it is deferred without spending an attempt, and the
 * caller backs off.  In a transaction, 4xx and broken connections defer,
 * 5xx fails, and 550/551/553 to RCPT says the address is bad.
 */
enum queue_outcome
smtp_outcome(const struct smtp_conn *c, char *why, size_t size)
{
	const char	*stage = c->stage;
	long		 r = c->response;

	if (c->code == CURLE_OK) {
		snprintf(why, size, "%s", c->reply);
		return QUEUE_SENT;
	}
	if (c->reply[0] != '\0' && r >= 400)
		snprintf(why, size, "%s after %s", c->reply,
		    stage[0] ? stage : "connecting");
	else
		snprintf(why, size, "%s", c->error[0] ? c->error :
		    curl_easy_strerror(c->code));

	switch (c->code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
	case CURLE_LOGIN_DENIED:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
		return QUEUE_RELAY_DOWN;
	default:
		break;
	}
	if (strcmp(stage, "RCPT") == 0 && (r == 550 || r == 551 || r == 553))
		return QUEUE_BOUNCED;
	/* Before MAIL FROM was accepted the trouble is the relay's or ours. */
	if (stage[0] == '\0' || strcmp(stage, "EHLO") == 0 ||
	    strcmp(stage, "HELO") == 0 || strcmp(stage, "STARTTLS") == 0 ||
	    strcmp(stage, "AUTH") == 0 || (strcmp(stage, "MAIL") == 0 && r >= 500))
		return r >= 400 && r < 500 ? QUEUE_DEFERRED : QUEUE_RELAY_DOWN;
	if (r >= 500 && r < 600)
		return QUEUE_FAILED;
	return QUEUE_DEFERRED;
}
