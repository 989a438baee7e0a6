/* The RFC 5322 / MIME text of one follow-up email. */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "message.h"
#include "money.h"
#include "text.h"
#include "token.h"
#include "xmalloc.h"

#define MESSAGE_LINE	76	/* where headers fold and QP lines break */

static int
message_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static void
message_base64(struct buf *b, const unsigned char *in, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		buf_addc(b, alphabet[(v >> 18) & 63]);
		buf_addc(b, alphabet[(v >> 12) & 63]);
		buf_addc(b, i + 1 < len ? alphabet[(v >> 6) & 63] : '=');
		buf_addc(b, i + 2 < len ? alphabet[v & 63] : '=');
	}
}

/*
 * RFC 2047 encoded words, "=?UTF-8?B?...?=", each under 75 characters and
 * never splitting a UTF-8 sequence, folded onto continuation lines.
 * The text should be UTF-8, but a database edited by hand can hold any
 * bytes: what is not UTF-8 is sent as U+FFFD, so that the words always
 * decode to the charset they name and every step takes at least one
 * whole character (backing up over continuation bytes alone once
 * shrank a chunk to nothing and looped forever).
 */
void
message_encode_word(struct buf *b, const char *text)
{
	char			*valid = text_utf8_repair(text);
	const unsigned char	*p = (const unsigned char *)valid;
	size_t			 len = strlen(valid);

	while (len > 0) {
		size_t n = len < 45 ? len : 45;

		/* Valid UTF-8: a sequence starts within the last 3 bytes. */
		while (n < len && (p[n] & 0xc0) == 0x80)
			n--;
		assert(n > 0);
		buf_addstr(b, "=?UTF-8?B?");
		message_base64(b, p, n);
		buf_addstr(b, "?=");
		p += n;
		len -= n;
		if (len > 0)
			buf_addstr(b, "\r\n ");
	}
	free(valid);
}

/*
 * Header values come from templates and the database, both checked for
 * control characters on the way in; this is the last line of defence:
 * nothing that could end a header line reaches one.
 */
static char *
message_header_safe(const char *value)
{
	char *s = xstrdup(value);

	for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* Whether folding at spaces keeps every line within MESSAGE_LINE. */
static int
message_foldable(const char *s)
{
	size_t n;

	for (; *s != '\0'; s += n) {
		s += strspn(s, " ");
		if ((n = strcspn(s, " ")) > MESSAGE_LINE - 1)
			return 0;
	}
	return 1;
}

/*
 * An unstructured header (Subject): ASCII folded at spaces, else encoded.
 * A word too long for a line of its own (a long URL, or variables with
 * nothing between them) is encoded too, since encoded words can be split
 * where plain text cannot: RFC 5322 allows no line over 998 octets.
 */
static void
message_header_text(struct buf *b, const char *name, const char *value)
{
	char	*safe = message_header_safe(value), *save = NULL;
	size_t	 start = strlen(name) + 1, col = start;

	buf_printf(b, "%s:", name);
	if (!message_ascii(safe) || !message_foldable(safe)) {
		buf_addc(b, ' ');
		message_encode_word(b, safe);
	} else {
		for (char *word = strtok_r(safe, " ", &save); word != NULL;
		    word = strtok_r(NULL, " ", &save)) {
			size_t len = strlen(word);

			if (col > start && col + 1 + len > MESSAGE_LINE) {
				buf_addstr(b, "\r\n");
				col = 0;
			}
			buf_addc(b, ' ');
			buf_addstr(b, word);
			col += 1 + len;
		}
	}
	buf_addstr(b, "\r\n");
	free(safe);
}

/*
 * "Display Name" <addr>, the name quoted or encoded as it needs.  The
 * address was checked on the way in, but the database may have been
 * edited since: one with a line break, a space or an angle bracket could
 * add headers or recipients, so it is refused rather than cleaned.
 * Returns 0, or -1 (logged) when refused.
 */
static int
message_header_address(struct buf *b, const char *header, const char *name,
    const char *address)
{
	char *safe;

	for (const unsigned char *p = (const unsigned char *)address;
	    *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>') {
			log_error("the %s address contains a line break, a "
			    "space, a control character or an angle bracket "
			    "(was the database edited by hand?); refusing to "
			    "build the message", header);
			return -1;
		}
	}
	safe = message_header_safe(name ? name : "");
	buf_printf(b, "%s: ", header);
	if (*safe == '\0') {
		buf_printf(b, "<%s>\r\n", address);
		free(safe);
		return 0;
	}
	if (message_ascii(safe)) {
		buf_addc(b, '"');
		for (const char *p = safe; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(b, '\\');
			buf_addc(b, *p);
		}
		buf_addc(b, '"');
	} else {
		message_encode_word(b, safe);
	}
	buf_printf(b, " <%s>\r\n", address);
	free(safe);
	return 0;
}

/*
 * Quoted-printable (RFC 2045) with CRLF line ends: lines of at most 76
 * characters, '=' and non-ASCII bytes encoded, trailing white space and a
 * leading dot encoded so that no relay can change or mistake the line.
 */
void
message_quoted_printable(struct buf *b, const char *text)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)text;
	char			 line[MESSAGE_LINE + 4];	/* and "=\r\n" */
	size_t			 col = 0;

	for (; *p != '\0'; p++) {
		char	enc[3];
		size_t	n;
		int	at_eol = p[1] == '\n' || p[1] == '\0' ||
			    (p[1] == '\r' && p[2] == '\n');

		if (*p == '\n') {
			buf_add(b, line, col);
			buf_addstr(b, "\r\n");
			col = 0;
			continue;
		}
		if (*p == '\r' && p[1] == '\n')
			continue;
		if ((*p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0)) ||
		    ((*p == ' ' || *p == '\t') && !at_eol)) {
			enc[0] = (char)*p;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			n = 3;
		}
		/* Room for a soft break '=' unless this ends the line. */
		if (col + n > (at_eol ? MESSAGE_LINE : MESSAGE_LINE - 1)) {
			buf_add(b, line, col);
			buf_addstr(b, "=\r\n");
			col = 0;
			if (n == 1 && enc[0] == '.') {
				enc[0] = '=';
				enc[1] = '2';
				enc[2] = 'E';
				n = 3;
			}
		}
		memcpy(line + col, enc, n);
		col += n;
	}
	if (col > 0) {
		buf_add(b, line, col);
		buf_addstr(b, "\r\n");
	}
}

static void
message_part(struct buf *b, const char *boundary, const char *type,
    const char *body)
{
	if (boundary != NULL)
		buf_printf(b, "--%s\r\n", boundary);
	buf_printf(b, "Content-Type: %s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", type);
	message_quoted_printable(b, body);
}

/* Render a link from the config ("https://.../r/{{referral.code}}"). */
static char *
message_link(const struct template_text *t, const char *const values[VAR_COUNT])
{
	return t->count > 0 ? template_render(t, values, 0) : xstrdup("");
}

static void
message_list_unsubscribe(struct buf *b, const struct config *cfg,
    const char *link, const char *token)
{
	const char *mailto = cfg->unsubscribe.mailto;

	if (*link == '\0' && *mailto == '\0')
		return;
	buf_addstr(b, "List-Unsubscribe: ");
	if (*link != '\0')
		buf_printf(b, "<%s>", link);
	if (*mailto != '\0')
		buf_printf(b, "%s<mailto:%s?subject=unsubscribe%%20%s>",
		    *link != '\0' ? ",\r\n " : "", mailto, token);
	buf_addstr(b, "\r\n");
	/* RFC 8058 one-click needs an HTTPS link to POST to. */
	if (strncmp(link, "https://", 8) == 0)
		buf_addstr(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
}

/* The values templates see, as text.  Buffers for derived ones in bufs. */
struct message_values {
	const char	*v[VAR_COUNT];
	char		 first_name[256];
	char		 amount[MONEY_TEXT_LEN];
	char		 date[16];
};

static void
message_values(const struct config *cfg, const struct campaign *c,
    const struct message_facts *f, struct message_values *mv)
{
	struct tm	tm;
	time_t		t = (time_t)f->sale.sold_at;

	memset(mv->v, 0, sizeof(mv->v));
	snprintf(mv->first_name, sizeof(mv->first_name), "%.*s",
	    (int)strcspn(f->name, " "), f->name);
	money_format(f->sale.amount, f->sale.currency, mv->amount);
	localtime_r(&t, &tm);		/* the shop's timezone */
	strftime(mv->date, sizeof(mv->date), "%Y-%m-%d", &tm);
	mv->v[VAR_CUSTOMER_EMAIL] = f->email;
	mv->v[VAR_CUSTOMER_NAME] = f->name;
	mv->v[VAR_CUSTOMER_FIRST_NAME] = mv->first_name;
	mv->v[VAR_SALE_ORDER_ID] = f->sale.order_id;
	mv->v[VAR_SALE_SKU] = f->sale.sku;
	mv->v[VAR_SALE_PRODUCT] = f->sale.product;
	mv->v[VAR_SALE_AMOUNT] = mv->amount;
	mv->v[VAR_SALE_CURRENCY] = f->sale.currency;
	mv->v[VAR_SALE_DATE] = mv->date;
	mv->v[VAR_REFERRAL_CODE] = f->referral_code;
	mv->v[VAR_UNSUBSCRIBE_TOKEN] = f->unsubscribe_token;
	mv->v[VAR_SHOP_NAME] = cfg->shop.name;
	mv->v[VAR_SHOP_URL] = cfg->shop.url;
	mv->v[VAR_CAMPAIGN_NAME] = c->name;
}

/*
 * Build the whole message for campaign c from the facts into out, with
 * CRLF line ends.  Returns 0, or -1 (logged) when it cannot be built: an
 * address that would break the header.  No randomness for the Message-ID
 * is a broken system, and ends the process.
 */
int
message_build(const struct config *cfg, const struct campaign *c,
    const struct message_facts *f, int64_t date, struct buf *out)
{
	struct message_values	 mv;
	char			*referral, *unsubscribe, *subject = NULL;
	char			*text = NULL, *html = NULL, stamp[64], id[21];
	char			 boundary[40];
	const char		*domain = strrchr(cfg->smtp.from_address, '@') + 1;
	struct tm		 tm;
	time_t			 t = (time_t)date;
	int			 rc = -1;

	message_values(cfg, c, f, &mv);
	referral = message_link(&cfg->referral.link_text, mv.v);
	unsubscribe = message_link(&cfg->unsubscribe.link_text, mv.v);
	mv.v[VAR_REFERRAL_LINK] = referral;
	mv.v[VAR_UNSUBSCRIBE_LINK] = unsubscribe;
	subject = template_render(&c->text->subject, mv.v, 0);
	text = template_render(&c->text->body, mv.v, 0);
	if (c->html != NULL)
		html = template_render(&c->html->body, mv.v, 1);
	if (token_generate(id, 20) == -1)
		fatal("cannot draw a Message-ID");

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (message_header_address(out, "From", cfg->smtp.from_name,
	    cfg->smtp.from_address) == -1 ||
	    message_header_address(out, "To", f->name, f->email) == -1)
		goto out;
	if (*cfg->smtp.reply_to != '\0')
		buf_printf(out, "Reply-To: <%s>\r\n", cfg->smtp.reply_to);
	message_header_text(out, "Subject", subject);
	buf_printf(out, "Date: %s\r\n", stamp);
	buf_printf(out, "Message-ID: <%s@%s>\r\n", id, domain);
	message_list_unsubscribe(out, cfg, unsubscribe, f->unsubscribe_token);
	buf_addstr(out, "MIME-Version: 1.0\r\n");
	if (html == NULL) {
		message_part(out, NULL, "text/plain", text);
	} else {
		/* "=_" cannot occur in quoted-printable text. */
		snprintf(boundary, sizeof(boundary), "=_aftersale_%.16s", id);
		buf_printf(out, "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"%s\"\r\n\r\n", boundary);
		message_part(out, boundary, "text/plain", text);
		message_part(out, boundary, "text/html", html);
		buf_printf(out, "--%s--\r\n", boundary);
	}
	rc = 0;
out:
	free(referral);
	free(unsubscribe);
	free(subject);
	free(text);
	free(html);
	return rc;
}
