/* The RFC 5322 / MIME text of one follow-up email. */
#ifndef AFTERSALE_MESSAGE_H
#define AFTERSALE_MESSAGE_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "coupon.h"
#include "email.h"
#include "sale.h"
#include "template.h"
#include "token.h"

/*
 * What one message is about: a sale, whole, and the customer it goes to
 * (the buyer, or for referral_converted the friend who referred them).
 */
struct message_facts {
	struct sale	sale;
	char		email[EMAIL_MAX + 1];	/* the recipient */
	char		name[256];
	char		referral_code[REFERRAL_CODE_LEN + 1];
	char		unsubscribe_token[UNSUBSCRIBE_TOKEN_LEN + 1];
	struct coupon	coupon;		/* its campaign's pool's; id 0: none */
};

/*
 * One message on its way: built once (message_build) at its first claim,
 * its bytes stored with it, and handed whole from the queue to the sender
 * and the SMTP transfer.  A retry carries the same bytes.
 */
struct outgoing {
	int64_t	id;
	int64_t	customer;
	char	campaign[65];
	char	rcpt[EMAIL_MAX + 1];
	int	attempts;	/* this one included */
	int64_t	first_due;	/* when it was first due: give_up_after */
	int64_t	coupon;		/* the code its new bytes carry, issued when
				   they are stored; 0 for none */
	struct buf text;	/* RFC 5322, CRLF; owned, freed by queue_free */
};

int	message_build(const struct config *cfg, const struct campaign *c,
	    const struct message_facts *f, int64_t date, struct buf *out);
void	message_header_text(struct buf *b, const char *name,
	    const char *value);
void	message_quoted_printable(struct buf *b, const char *text);

#endif
