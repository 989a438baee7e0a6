/* Templates: parsing, unknown variables, fallbacks, HTML escaping. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "template.h"

static char *
render(const char *text, const char *const values[VAR_COUNT], int html)
{
	struct template_text	 t;
	char			*out;
	int			 errors = 0;

	assert_int_equal(template_parse_text(text, strlen(text),
	    TEMPLATE_VARS_MESSAGE, "t", 1, &errors, &t), 0);
	assert_int_equal(errors, 0);
	out = template_render(&t, values, html);
	template_text_free(&t);
	assert_non_null(out);
	return out;
}

static void
test_render(void **state)
{
	const char	*values[VAR_COUNT] = { NULL };
	char		*out;

	(void)state;
	values[VAR_CUSTOMER_FIRST_NAME] = "Ana";
	values[VAR_SHOP_NAME] = "Acme & Co";
	out = render("Hi {{customer.first_name}}, from {{ shop.name }}!", values, 0);
	assert_string_equal(out, "Hi Ana, from Acme & Co!");
	free(out);
	out = render("<b>{{shop.name}}</b>", values, 1);
	assert_string_equal(out, "<b>Acme &amp; Co</b>");
	free(out);
}

static void
test_fallback(void **state)
{
	const char	*values[VAR_COUNT] = { NULL };
	char		*out;

	(void)state;
	values[VAR_CUSTOMER_NAME] = "";
	out = render("Hello {{customer.name|there}} {{sale.sku|}}.", values, 0);
	assert_string_equal(out, "Hello there .");
	free(out);
	values[VAR_CUSTOMER_NAME] = "<Bo>";
	out = render("Hello {{customer.name|there}}", values, 1);
	assert_string_equal(out, "Hello &lt;Bo&gt;");
	free(out);
}

static void
test_errors(void **state)
{
	struct template_text	 t;
	char			*err;
	int			 errors = 0;
	const char		*text = "line one\n{{customer.nmae}} and\n{{unsubscribe.token}}\n{{shop.name";

	(void)state;
	unit_capture_begin();
	assert_int_equal(template_parse_text(text, strlen(text),
	    TEMPLATE_VARS_MESSAGE, "x.txt", 1, &errors, &t), -1);
	err = unit_capture_end();
	assert_int_equal(errors, 3);
	assert_non_null(strstr(err, "x.txt:2: unknown variable {{customer.nmae}} "
	    "(did you mean {{customer.name}}?)"));
	assert_non_null(strstr(err, "x.txt:3: variable {{unsubscribe.token}} "
	    "cannot be used here"));
	assert_non_null(strstr(err, "x.txt:4: \"{{\" is not closed"));
	free(err);
}

static void
test_load(void **state)
{
	const char	*dir = unit_tmpdir("template");
	const char	*values[VAR_COUNT] = { NULL };
	char		 path[4200], *out, *err;
	struct template	*t;
	int		 errors = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/ok.txt", dir);
	unit_write(path, "Subject: Thanks, {{customer.first_name|friend}}\r\n\r\nBody {{sale.order_id}}\r\n");
	assert_int_equal(template_load(path, 1, TEMPLATE_VARS_MESSAGE, &errors,
	    &t), 0);
	values[VAR_SALE_ORDER_ID] = "A-1";
	out = template_render(&t->subject, values, 0);
	assert_string_equal(out, "Thanks, friend");
	free(out);
	out = template_render(&t->body, values, 0);
	assert_string_equal(out, "Body A-1\n");
	free(out);
	template_free(t);

	snprintf(path, sizeof(path), "%s/bad.txt", dir);
	unit_write(path, "Subject: x\nBcc: evil@example.com\n\n{{sale.amout}}\n");
	unit_capture_begin();
	assert_int_equal(template_load(path, 1, TEMPLATE_VARS_MESSAGE, &errors,
	    &t), -1);
	err = unit_capture_end();
	assert_non_null(strstr(err, "bad.txt:2: unknown header \"Bcc\""));
	assert_non_null(strstr(err, "bad.txt:4: unknown variable {{sale.amout}} "
	    "(did you mean {{sale.amount}}?)"));
	free(err);

	snprintf(path, sizeof(path), "%s/nosubject.txt", dir);
	unit_write(path, "Hello there\n");
	unit_capture_begin();
	assert_int_equal(template_load(path, 1, TEMPLATE_VARS_MESSAGE, &errors,
	    &t), -1);
	err = unit_capture_end();
	assert_non_null(strstr(err, "nosubject.txt:1: expected a header line"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
