/* Webhook signatures: the shop platforms' HMACs, checked in constant time. */
#ifndef AFTERSALE_SIGNATURE_H
#define AFTERSALE_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

/* Every result but SIGNATURE_OK is a 401; they differ for the log. */
enum signature_result {
	SIGNATURE_OK,
	SIGNATURE_MISMATCH,	/* well-formed, but made with another secret
				   or over other bytes */
	SIGNATURE_MALFORMED,	/* missing, or not in the platform's form */
	SIGNATURE_STALE,	/* Stripe: signed right, but its time is more
				   than the tolerance away from ours */
};

/* Bytes of the form "t=T,v1=HEX" parsed; longer headers are refused. */
#define SIGNATURE_STRIPE_MAX	1024

enum signature_result signature_base64(const void *secret, size_t secret_len,
	    const void *body, size_t len, const char *header);
enum signature_result signature_stripe(const void *secret, size_t secret_len,
	    const void *body, size_t len, const char *header, int64_t now,
	    int64_t tolerance);
const char *signature_text(enum signature_result r);

#endif
