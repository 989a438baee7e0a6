/* Templates: "{{variable}}" and "{{variable|fallback}}" in plain text. */
#ifndef AFTERSALE_TEMPLATE_H
#define AFTERSALE_TEMPLATE_H

#include <stddef.h>

#include "buf.h"

enum template_var {
	VAR_CUSTOMER_EMAIL,
	VAR_CUSTOMER_NAME,
	VAR_CUSTOMER_FIRST_NAME,
	VAR_SALE_ORDER_ID,
	VAR_SALE_SKU,
	VAR_SALE_PRODUCT,
	VAR_SALE_AMOUNT,
	VAR_SALE_CURRENCY,
	VAR_SALE_DATE,
	VAR_REFERRAL_CODE,
	VAR_REFERRAL_LINK,
	VAR_UNSUBSCRIBE_LINK,
	VAR_UNSUBSCRIBE_TOKEN,
	VAR_SHOP_NAME,
	VAR_SHOP_URL,
	VAR_CAMPAIGN_NAME,
	VAR_COUPON_CODE,
	VAR_COUPON_EXPIRES,
	VAR_COUNT
};

#define VAR_BIT(v)		(1u << (v))
/* What a coupon gives the templates of a campaign that names a pool. */
#define TEMPLATE_VARS_COUPON	(VAR_BIT(VAR_COUPON_CODE) | VAR_BIT(VAR_COUPON_EXPIRES))
/* What a message template may use: everything but the raw token, and the
 * coupon's where its campaign names a pool. */
#define TEMPLATE_VARS_MESSAGE	((VAR_BIT(VAR_COUNT) - 1) & \
	~(VAR_BIT(VAR_UNSUBSCRIBE_TOKEN) | TEMPLATE_VARS_COUPON))

struct template_piece {
	const char		*text;		/* literal text, or the fallback */
	size_t			 len;
	int			 var;		/* enum template_var, or -1 */
};

/* A parsed string: literal pieces and variables, pointing into a source. */
struct template_text {
	struct template_piece	*pieces;
	size_t			 count;
};

struct template {
	char			*source;	/* owns what the pieces point at */
	struct template_text	 subject;
	struct template_text	 body;
};

extern const char *const template_var_names[VAR_COUNT];

int	template_parse_text(const char *text, size_t len, unsigned allowed,
	    const char *file, int line, int *errors, struct template_text *out);
int	template_load(const char *path, int require_subject, unsigned allowed,
	    int *errors,
	    struct template **out);
void	template_text_free(struct template_text *t);
void	template_free(struct template *t);
void	template_escape(struct buf *b, const char *s, size_t n);
char	*template_render(const struct template_text *t,
	    const char *const values[VAR_COUNT], int html);

#endif
