/* SMTP delivery with libcurl: one relay connection per worker thread. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "smtp.h"

static int64_t
smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The message text.  libcurl stops reading at the size it was told and
 * never asks for the end, so the last byte is held back until may_end()
 * says the message may be completed.
 */
static size_t
smtp_read(char *out, size_t size, size_t nmemb, void *arg)
{
	struct smtp_conn	*c = arg;
	size_t			 left = c->len - c->offset;
	size_t			 n = size * nmemb < left ? size * nmemb : left;

	if (c->may_end != NULL && n == left && left > 1)
		n--;
	else if (c->may_end != NULL && left == 1 && !c->may_end(c->may_end_arg))
		return CURL_READFUNC_ABORT;
	memcpy(out, c->text + c->offset, n);
	c->offset += n;
	if (c->offset == c->len && n > 0) {
		/* The dot follows: from now on, the long wait for its reply. */
		c->at_end = 1;
		c->wait_from = smtp_now_ms();
	}
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
	if (type == CURLINFO_HEADER_IN || (type == CURLINFO_HEADER_OUT &&
	    !c->at_end))
		c->wait_from = smtp_now_ms();	/* a reply, or a new wait */
	if (type == CURLINFO_HEADER_IN)
		c->at_end = 0;
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
 * Called by libcurl at least once a second while a transfer runs, and
 * while it blocks for the reply to the end of DATA: end the transfer when
 * the relay has said nothing for smtp.timeout (smtp.data_timeout after
 * the dot).  libcurl's own response timeout counts from the last command
 * and cannot tell the end of DATA apart, and CURLOPT_TIMEOUT is one
 * deadline for the whole transaction.
 */
static int
smtp_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct smtp_conn	*c = arg;
	int64_t			 now = smtp_now_ms();
	int64_t			 limit = c->at_end ? c->data_timeout_ms :
				    c->timeout_ms;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (ulnow != c->uploaded) {	/* the relay takes the body */
		c->uploaded = ulnow;
		if (!c->at_end)
			c->wait_from = now;
	}
	if (now - c->wait_from < limit)
		return 0;
	c->timed_out = 1;
	return 1;
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
	c->timeout_ms = cfg->smtp.timeout * 1000;
	c->data_timeout_ms = cfg->smtp.data_timeout * 1000;
	/*
	 * Backstops only: smtp_progress() keeps the per-reply limits.
	 * libcurl's connect timeout also covers the greeting, EHLO, STARTTLS
	 * and AUTH, each of which may take smtp.timeout.
	 */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)cfg->smtp.timeout * 10);
	curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
	    (long)(cfg->smtp.timeout + cfg->smtp.data_timeout));
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, smtp_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->error);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);	/* feeds smtp_debug */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, smtp_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
	return 0;
}

/*
 * Close the connection (QUIT, bounded by smtp.timeout) and free the
 * handle.  May wait on the network: never call it holding a lock.
 */
void
smtp_conn_cleanup(struct smtp_conn *c)
{
	if (c->easy != NULL) {
		c->at_end = 0;
		c->wait_from = smtp_now_ms();
		curl_easy_setopt(c->easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
		    (long)(c->timeout_ms / 1000));
		curl_easy_cleanup(c->easy);
	}
	curl_slist_free_all(c->rcpt);
	memset(c, 0, sizeof(*c));
}

static const char *const smtp_stage_names[] = {
	[SMTP_STAGE_CONNECT] = "connecting",
	[SMTP_STAGE_EHLO] = "EHLO",
	[SMTP_STAGE_STARTTLS] = "STARTTLS",
	[SMTP_STAGE_AUTH] = "AUTH",
	[SMTP_STAGE_MAIL] = "MAIL",
	[SMTP_STAGE_RCPT] = "RCPT",
	[SMTP_STAGE_DATA] = "DATA",
	[SMTP_STAGE_END] = "end of DATA",
	[SMTP_STAGE_OTHER] = "a command",
};

const char *
smtp_stage_name(enum smtp_stage stage)
{
	return smtp_stage_names[stage];
}

static enum smtp_stage
smtp_stage_of(const struct smtp_conn *c)
{
	static const struct {
		const char	*verb;
		enum smtp_stage	 stage;
	} map[] = {
		{ "EHLO", SMTP_STAGE_EHLO }, { "HELO", SMTP_STAGE_EHLO },
		{ "STARTTLS", SMTP_STAGE_STARTTLS }, { "AUTH", SMTP_STAGE_AUTH },
		{ "MAIL", SMTP_STAGE_MAIL }, { "RCPT", SMTP_STAGE_RCPT },
		{ "DATA", SMTP_STAGE_DATA },
	};

	if (c->stage[0] == '\0')
		return SMTP_STAGE_CONNECT;
	/* All of the body was handed over: the dot follows it at once. */
	if (strcmp(c->stage, "DATA") == 0 && c->len > 0 && c->offset == c->len)
		return SMTP_STAGE_END;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(c->stage, map[i].verb) == 0)
			return map[i].stage;
	return SMTP_STAGE_OTHER;
}

/* The RFC 3463 enhanced code after the reply code ("550 5.1.1 ..."). */
static void
smtp_enhanced(const char *reply, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	if (strlen(reply) < 5 || (reply[3] != ' ' && reply[3] != '-') ||
	    (reply[4] != '2' && reply[4] != '4' && reply[4] != '5') ||
	    reply[5] != '.')
		return;
	reply += 4;
	while (n + 1 < size && (isdigit((unsigned char)reply[n]) ||
	    reply[n] == '.'))
		n++;
	snprintf(out, size, "%.*s", (int)n, reply);
}

/* libcurl's result in the transport's terms. */
static enum smtp_error
smtp_error_of(CURLcode code, long response)
{
	switch (code) {
	case CURLE_OK:
		return SMTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return SMTP_UNREACHABLE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return SMTP_TLS;
	case CURLE_LOGIN_DENIED:
		return SMTP_LOGIN;
	case CURLE_OPERATION_TIMEDOUT:
		return SMTP_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
		return SMTP_LOCAL;
	case CURLE_ABORTED_BY_CALLBACK:
		return SMTP_ABORTED;
	default:
		return response >= 400 ? SMTP_REPLY : SMTP_BROKEN;
	}
}

/*
 * Deliver one message to rcpt; blocks until the relay answered the end of
 * DATA or the transfer failed, and says what happened in *r.  Runs on a
 * sender thread (see sender.c).
 */
void
smtp_send(struct smtp_conn *c, const char *rcpt, const char *text, size_t len,
    struct smtp_result *r)
{
	CURLcode code;

	memset(r, 0, sizeof(*r));
	curl_slist_free_all(c->rcpt);
	c->rcpt = curl_slist_append(NULL, rcpt);
	c->text = text;
	c->len = len;
	c->offset = 0;
	c->response = 0;
	c->stage[0] = '\0';
	c->reply[0] = '\0';
	c->error[0] = '\0';
	c->quitting = 0;
	c->in_auth = 0;
	c->at_end = 0;
	c->timed_out = 0;
	c->uploaded = 0;
	c->wait_from = smtp_now_ms();	/* the greeting, or MAIL's reply */
	if (c->easy == NULL || c->rcpt == NULL) {
		r->error = SMTP_LOCAL;
		snprintf(r->detail, sizeof(r->detail), "%s", c->easy == NULL ?
		    "no libcurl handle" : "out of memory");
		return;
	}
	curl_easy_setopt(c->easy, CURLOPT_MAIL_RCPT, c->rcpt);
	curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	code = curl_easy_perform(c->easy);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->response);

	r->error = c->timed_out ? SMTP_TIMEOUT : smtp_error_of(code, c->response);
	r->stage = smtp_stage_of(c);
	r->code = (int)c->response;
	snprintf(r->reply, sizeof(r->reply), "%s", c->reply);
	smtp_enhanced(r->reply, r->enhanced, sizeof(r->enhanced));
	snprintf(r->detail, sizeof(r->detail), "%s", c->error[0] ? c->error :
	    curl_easy_strerror(code));
	r->maybe_delivered = r->error != SMTP_OK && r->stage == SMTP_STAGE_END &&
	    r->code < 400;
	r->reusable = r->error == SMTP_OK;
}
