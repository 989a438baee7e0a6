/* Email addresses as a shop's customers give them. */
#ifndef AFTERSALE_EMAIL_H
#define AFTERSALE_EMAIL_H

#define EMAIL_MAX	254	/* RFC 5321 path limit less the brackets */

/* Room for email_key's key of any address email_check takes. */
#define EMAIL_KEY_SIZE	(EMAIL_MAX + 1)

const char *email_check(const char *address);
void	email_key(const char *address, char key[EMAIL_KEY_SIZE]);

#endif
