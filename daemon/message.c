/* The RFC 5322 / MIME text of one follow-up email. */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "message.h"
#include "money.h"
#include "text.h"
#include "token.h"
#include "xmalloc.h"

#define MESSAGE_FOLD	78	/* header lines fold before passing this */
#define MESSAGE_LINE	76	/* quoted-printable lines break here */
#define MESSAGE_WORD	75	/* the longest encoded word (RFC 2047) */
#define MESSAGE_WORD_TAGS 12	/* "=?UTF-8?B?" and "?=" */
#define MESSAGE_WORD_MIN 12	/* bytes below which a word starts a line */

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
 * One header field being written, token by token, with a space before
 * each.  The line folds (CRLF before that space) when a token would pass
 * MESSAGE_FOLD; unfolding takes out only the CRLF, so the value reads the
 * same.  A token longer than a line of its own (a long link) stays whole:
 * RFC 5322 allows lines of up to 998 octets.
 */
struct message_header {
	struct buf	*b;
	size_t		 col;	/* octets on the current line */
};

static void
message_header_begin(struct message_header *h, struct buf *b,
    const char *name)
{
	h->b = b;
	buf_printf(b, "%s:", name);
	h->col = strlen(name) + 1;
}

/* The space before a token of len octets, after a fold if it needs one. */
static void
message_header_space(struct message_header *h, size_t len)
{
	if (h->col > 0 && h->col + 1 + len > MESSAGE_FOLD) {
		buf_addstr(h->b, "\r\n");
		h->col = 0;
	}
	buf_addc(h->b, ' ');
	h->col += 1 + len;
}

static void
message_header_token(struct message_header *h, const char *token, size_t len)
{
	message_header_space(h, len);
	buf_add(h->b, token, len);
}

/* Bytes of text that one encoded word can carry on a line at col. */
static size_t
message_word_room(size_t col)
{
	size_t room = col + 1 < MESSAGE_FOLD ? MESSAGE_FOLD - 1 - col : 0;

	if (room > MESSAGE_WORD)
		room = MESSAGE_WORD;
	return room > MESSAGE_WORD_TAGS ? (room - MESSAGE_WORD_TAGS) / 4 * 3 : 0;
}

/*
 * How much of p (len bytes of UTF-8) the next encoded word carries, at
 * most room: all of it when it fits, else up to the last space within
 * room, so that a decoder that wrongly shows a space between two words
 * shows it where there is one; else as many whole characters as fit,
 * since RFC 2047 wants each word to decode on its own.
 */
static size_t
message_word_cut(const unsigned char *p, size_t len, size_t room)
{
	size_t n;

	if (len <= room)
		return len;
	for (n = room; n > 0; n--)
		if (p[n - 1] == ' ')
			return n;
	for (n = room; n > 0 && (p[n] & 0xc0) == 0x80; n--)
		;
	return n;
}

/*
 * Text as RFC 2047 encoded words, "=?UTF-8?B?...?=", each within 75
 * characters and within its line.  Decoders drop the white space between
 * two encoded words, so every space of the text stays inside a word: the
 * text decodes exactly as given, repeated spaces included.
 * The text should be UTF-8, but a database edited by hand can hold any
 * bytes: what is not UTF-8 is sent as U+FFFD, so that the words always
 * decode to the charset they name and every word takes at least one
 * whole character (backing up over continuation bytes alone once
 * shrank a chunk to nothing and looped forever).
 */
static void
message_header_words(struct message_header *h, const char *text)
{
	char			*valid = text_utf8_repair(text);
	const unsigned char	*p = (const unsigned char *)valid;
	size_t			 len = strlen(valid);

	while (len > 0) {
		size_t room = message_word_room(h->col), n;

		/* Too little room left on this line: the word starts the next. */
		if (room < len && room < MESSAGE_WORD_MIN)
			room = message_word_room(0);
		n = message_word_cut(p, len, room);
		assert(n > 0);
		message_header_space(h, MESSAGE_WORD_TAGS + (n + 2) / 3 * 4);
		buf_addstr(h->b, "=?UTF-8?B?");
		message_base64(h->b, p, n);
		buf_addstr(h->b, "?=");
		p += n;
		len -= n;
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

/*
 * The next token of unstructured text at *p (first: at its start).  The
 * one space that separates it from the one before is left out, since
 * message_header_token() writes it back; any more spaces belong to the
 * token, so that repeated spaces come through as given.
 */
static size_t
message_text_token(const char **p, int first)
{
	size_t n;

	if (!first)
		(*p)++;
	n = strspn(*p, " ");
	return n + strcspn(*p + n, " ");
}

/*
 * Whether text can go as it is, folded at its spaces: ASCII, with no "=?"
 * that a reader would decode as an encoded word, and no token (spaces
 * before it included) too long for a line of its own.
 */
static int
message_text_foldable(const char *s)
{
	size_t n;

	if (!message_ascii(s) || strstr(s, "=?") != NULL)
		return 0;
	for (const char *p = s; *p != '\0'; p += n)
		if ((n = message_text_token(&p, p == s)) > MESSAGE_FOLD - 1)
			return 0;
	return 1;
}

/*
 * Whether unstructured text can go as it is: foldable, and no space at
 * either end (parsers drop those).
 */
static int
message_text_plain(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && s[0] != ' ' && s[len - 1] != ' ' &&
	    message_text_foldable(s);
}

/* Text as its tokens (message_text_token), folding between them. */
static void
message_header_tokens(struct message_header *h, const char *text)
{
	size_t n;

	for (const char *p = text; *p != '\0'; p += n) {
		n = message_text_token(&p, p == text);
		message_header_token(h, p, n);
	}
}

/*
 * An unstructured header (Subject): folded at its spaces when it can go
 * as it is, else encoded words, which can be split anywhere between
 * characters.
 */
void
message_header_text(struct buf *b, const char *name, const char *value)
{
	struct message_header	 h;
	char			*safe = message_header_safe(value);

	message_header_begin(&h, b, name);
	if (message_text_plain(safe))
		message_header_tokens(&h, safe);
	else
		message_header_words(&h, safe);
	buf_addstr(b, "\r\n");
	free(safe);
}

/*
 * "Display Name" <addr>: an ASCII name quoted, and folded at its spaces
 * when long (unfolding gives back every space inside the quotes), unless
 * a word of it (or a run of spaces) is too long for a line; any other
 * name encoded; the address on the next line when it does not fit
 * on this one.  A name with "=?" is encoded too: some readers decode
 * encoded words even inside quotes, and a customer could then choose the
 * name they show.  The address was checked on the way in, but the
 * database may have been edited since: one with a line break, a space or
 * an angle bracket could add headers or recipients, so it is refused
 * rather than cleaned.  Returns 0, or -1 (logged) when refused.
 */
static int
message_header_address(struct buf *b, const char *header, const char *name,
    const char *address)
{
	struct message_header	 h;
	struct buf		 quoted = { 0 };
	char			*safe, *bracketed;

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
	message_header_begin(&h, b, header);
	if (*safe != '\0') {
		buf_addc(&quoted, '"');
		for (const char *p = safe; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(&quoted, '\\');
			buf_addc(&quoted, *p);
		}
		buf_addc(&quoted, '"');
		if (message_text_foldable(quoted.data))
			message_header_tokens(&h, quoted.data);
		else
			message_header_words(&h, safe);
	}
	bracketed = xasprintf("<%s>", address);
	message_header_token(&h, bracketed, strlen(bracketed));
	buf_addstr(b, "\r\n");
	free(bracketed);
	buf_free(&quoted);
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
		int	at_eol;

		/*
		 * The common case first (issue 13: 7% of the loop thread):
		 * characters that stand for themselves, while the line has
		 * room for them and a soft break.  What is left, the code
		 * below takes one byte at a time.
		 */
		while (col < MESSAGE_LINE - 1 &&
		    ((*p >= 33 && *p <= 126 && *p != '=' && (*p != '.' ||
		    col > 0)) || (*p == ' ' && p[1] != '\n' && p[1] != '\r' &&
		    p[1] != '\0')))
			line[col++] = (char)*p++;
		if (*p == '\0')
			break;
		at_eol = p[1] == '\n' || p[1] == '\0' ||
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

/*
 * The HTML alternative as a whole small document.  A template that is
 * one already (it starts with "<!doctype" or "<html") goes as written; a
 * fragment is wrapped in what mail clients and filters look for: the
 * doctype, the language, the charset and the subject as the title.
 * Takes html and returns the document; the caller frees it.
 */
static char *
message_html_document(const struct config *cfg, const char *subject,
    char *html)
{
	struct buf	 b = { 0 };
	const char	*start = html + strspn(html, " \t\n");
	size_t		 len = strlen(html);

	if (strncasecmp(start, "<!doctype", 9) == 0 ||
	    strncasecmp(start, "<html", 5) == 0)
		return html;
	buf_printf(&b, "<!doctype html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n"
	    "<title>", cfg->shop.language);
	template_escape(&b, subject, strlen(subject));
	buf_printf(&b, "</title>\n</head>\n<body>\n%s%s</body>\n</html>\n",
	    html, len > 0 && html[len - 1] != '\n' ? "\n" : "");
	free(html);
	return b.data;
}

/* Render a link from the config ("https://.../r/{{referral.code}}"). */
static char *
message_link(const struct template_text *t, const char *const values[VAR_COUNT])
{
	return t->count > 0 ? template_render(t, values, 0) : xstrdup("");
}

/*
 * List-Unsubscribe (RFC 2369), each link on a line of its own when it
 * does not fit on the one before: a link is never folded inside, since
 * one-click unsubscribers POST to it as written.
 */
static void
message_list_unsubscribe(struct buf *b, const struct config *cfg,
    const char *link, const char *token)
{
	struct message_header	 h;
	const char		*mailto = cfg->unsubscribe.mailto;
	char			*item;

	if (*link == '\0' && *mailto == '\0')
		return;
	message_header_begin(&h, b, "List-Unsubscribe");
	if (*link != '\0') {
		item = xasprintf("<%s>%s", link, *mailto != '\0' ? "," : "");
		message_header_token(&h, item, strlen(item));
		free(item);
	}
	if (*mailto != '\0') {
		item = xasprintf("<mailto:%s?subject=unsubscribe%%20%s>", mailto,
		    token);
		message_header_token(&h, item, strlen(item));
		free(item);
	}
	buf_addstr(b, "\r\n");
	/* RFC 8058 one-click needs an HTTPS link to POST to. */
	if (strncmp(link, "https://", 8) == 0)
		buf_addstr(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
}

/*
 * Gmail's feedback loop groups complaints by the fields of Feedback-ID:
 * the campaign, the shop, and us as the sender.
 */
static void
message_feedback_id(struct buf *b, const char *campaign, const char *shop)
{
	struct message_header	 h;
	char			*value = xasprintf("%s:%s:aftersale", campaign, shop);

	message_header_begin(&h, b, "Feedback-ID");
	message_header_token(&h, value, strlen(value));
	buf_addstr(b, "\r\n");
	free(value);
}

/* The values templates see, as text.  Buffers for derived ones in bufs. */
struct message_values {
	const char	*v[VAR_COUNT];
	char		 first_name[256];
	char		 amount[MONEY_TEXT_LEN];
	char		 date[16];
	char		 expires[16];
};

/*
 * The first name: what follows the comma of "Last, First" (as shops and
 * address books write names), else the first word.  Empty when there is
 * none, so that the template's fallback applies.
 */
static void
message_first_name(const char *name, char *out, size_t size)
{
	const char	*comma = strchr(name, ',');
	const char	*s = comma != NULL ? comma + 1 : name;
	size_t		 n;

	s += strspn(s, " ");
	n = comma != NULL ? strlen(s) : strcspn(s, " ");
	while (n > 0 && s[n - 1] == ' ')
		n--;
	snprintf(out, size, "%.*s", (int)n, s);
}

static void
message_values(const struct config *cfg, const struct campaign *c,
    const struct message_facts *f, struct message_values *mv)
{
	struct tm	tm;
	time_t		t = (time_t)f->sale.sold_at;

	memset(mv->v, 0, sizeof(mv->v));
	message_first_name(f->name, mv->first_name, sizeof(mv->first_name));
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
	mv->v[VAR_COUPON_CODE] = f->coupon.code;
	/* A code that never expires leaves the template's fallback. */
	mv->expires[0] = '\0';
	t = (time_t)f->coupon.expires_at;
	if (f->coupon.expires_at != 0 && localtime_r(&t, &tm) != NULL)
		strftime(mv->expires, sizeof(mv->expires), "%Y-%m-%d", &tm);
	mv->v[VAR_COUPON_EXPIRES] = mv->expires;
}

/*
 * Build the whole message for campaign c from the facts into out (empty),
 * with CRLF line ends, signed with the DKIM key when there is one: these
 * are the bytes stored and sent at every attempt.  Returns 0, or -1
 * (logged) when it cannot be built: an address that would break the
 * header.  No randomness for the Message-ID is a broken system, and ends
 * the process.
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
		html = message_html_document(cfg, subject,
		    template_render(&c->html->body, mv.v, 1));
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
	if (message_header_address(out, "List-Id", cfg->list.name,
	    cfg->list.id) == -1)
		goto out;
	message_list_unsubscribe(out, cfg, unsubscribe, f->unsubscribe_token);
	if (*cfg->feedback_id != '\0')
		message_feedback_id(out, c->name, cfg->feedback_id);
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
	if (cfg->dkim.key != NULL)
		dkimkey_sign(cfg->dkim.key, out);
	rc = 0;
out:
	free(referral);
	free(unsubscribe);
	free(subject);
	free(text);
	free(html);
	return rc;
}
