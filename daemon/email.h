/* Email addresses as a shop's customers give them. */
#ifndef AFTERSALE_EMAIL_H
#define AFTERSALE_EMAIL_H

#define EMAIL_MAX	254	/* RFC 5321 path limit less the brackets */

const char *email_check(const char *address);

#endif
