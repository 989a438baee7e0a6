/* Configuration: the sample loads; every kind of mistake is reported at
 * its FILE:LINE, all of them, not only the first. */

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

#include "config.h"

static const char *dir;
static char conf[4200];
static const char *tz_name = "Europe/London";

static int
setup(void **state)
{
	char path[4200];

	(void)state;
	dir = unit_tmpdir("config");
	snprintf(path, sizeof(path), "%s/templates", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/templates/hello.txt", dir);
	unit_write(path, "Subject: Hello {{customer.first_name|there}}\n\nHi.\n");
	snprintf(conf, sizeof(conf), "%s/aftersale.conf", dir);
	return 0;
}

/* A good file with `extra` inserted at line 9, after the smtp group. */
static void
write_conf(const char *extra, const char *campaigns)
{
	char text[8192];

	snprintf(text, sizeof(text),
	    "database = \"test.db\";\n"					/* 1 */
	    "timezone = \"%s\";\n"					/* 2 */
	    "shop = { name = \"Acme\"; url = \"https://acme.example\"; };\n"	/* 3 */
	    "smtp = {\n"						/* 4 */
	    "  url = \"smtp://127.0.0.1:2525\";\n"			/* 5 */
	    "  tls = \"none\";\n"					/* 6 */
	    "  from = \"Acme <hello@acme.example>\";\n"			/* 7 */
	    "};\n"							/* 8 */
	    "%s\n"							/* 9 */
	    "campaigns = (\n%s\n);\n", tz_name, extra, campaigns);
	unit_write(conf, text);
}

static char *
load_fails(struct config **cfg)
{
	unit_capture_begin();
	assert_int_equal(config_load(conf, cfg), -1);
	return unit_capture_end();
}

static void
test_sample_loads(void **state)
{
	const char	*src = getenv("AFTERSALE_SRCDIR");
	char		 path[4200];
	struct config	*cfg;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/aftersale.conf", src ? src : ".");
	assert_int_equal(config_load(path, &cfg), 0);
	assert_int_equal(cfg->ncampaigns, 6);
	assert_string_equal(cfg->campaigns[1].name, "review-request");
	assert_int_equal(cfg->campaigns[1].after, 7 * 86400);
	assert_int_equal(cfg->campaigns[1].stop_on, STOP_ON_REPEAT_PURCHASE);
	assert_int_equal(cfg->campaigns[2].on, TRIGGER_FIRST_SALE);
	assert_int_equal(cfg->delivery.retry.n, 5);
	assert_int_equal(cfg->delivery.retry.v[4], 4 * 3600);
	assert_int_equal(cfg->delivery.send_window.start, 9 * 60);
	assert_int_equal(cfg->delivery.send_window.end, 19 * 60);
	assert_int_equal(cfg->smtp.max_connections, 4);
	assert_string_equal(cfg->smtp.from_address, "hello@acme.example");
	assert_non_null(cfg->campaigns[0].html);
	assert_null(cfg->campaigns[1].html);
	config_free(cfg);
}

static void
test_defaults(void **state)
{
	struct config *cfg;

	(void)state;
	write_conf("", "{ name = \"hello\"; on = \"sale\"; after = \"2h\"; template = \"hello\"; }");
	assert_int_equal(config_load(conf, &cfg), 0);
	assert_int_equal(cfg->smtp.tls, SMTP_TLS_NONE);
	assert_int_equal(cfg->smtp.timeout, 30);
	assert_int_equal(cfg->delivery.give_up_after, 3 * 86400);
	assert_int_equal(cfg->campaigns[0].enabled, 1);
	assert_int_equal(cfg->campaigns[0].send_window.start, 0);
	assert_int_equal(cfg->campaigns[0].send_window.end, 24 * 60);
	assert_string_equal(cfg->shop.currency, "EUR");
	assert_string_equal(cfg->shop.language, "en");
	assert_non_null(strstr(cfg->database_path, "/unit-config-"));
	config_free(cfg);
}

static void
test_misspelt_key(void **state)
{
	struct config	*cfg;
	char		*err;

	(void)state;
	write_conf("", "{ name = \"win-back\"; on = \"sale\";\n"
	    "  afer = \"60d\"; template = \"hello\"; }");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:12: campaign \"win-back\": "
	    "unknown key \"afer\" (did you mean \"after\"?)"));
	assert_non_null(strstr(err, "campaign \"win-back\": missing required "
	    "key \"after\""));
	free(err);
}

static void
test_every_problem_reported(void **state)
{
	struct config	*cfg;
	char		*err;

	(void)state;
	write_conf("delivery = { retry = [ \"1m\", \"5x\" ]; send_window = \"9-17\"; "
	    "give_up_after = 3; };",
	    "{ name = \"a\"; on = \"sale\"; after = \"1h\"; template = \"hello\"; },\n"	/* 11 */
	    "{ name = \"a\"; on = \"sael\"; after = \"1h\"; template = \"nope\"; }");	/* 12 */
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:9: delivery.retry: \"5x\" is "
	    "not a duration"));
	assert_non_null(strstr(err, "aftersale.conf:9: delivery.send_window: "
	    "\"9-17\" is not a window"));
	assert_non_null(strstr(err, "aftersale.conf:9: delivery.give_up_after "
	    "must be a string such as \"2h\""));
	free(err);

	/* Key errors stop before campaigns; campaign errors come together. */
	write_conf("", "{ name = \"a\"; on = \"sale\"; after = \"1h\"; template = \"hello\"; },\n"
	    "{ name = \"a\"; on = \"sael\"; after = \"1h\"; template = \"nope\"; }");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:12: campaign \"a\": on: \"sael\" "
	    "is not one of \"sale\", \"first_sale\", \"repeat_sale\", "
	    "\"referral_converted\" or \"reorder\""));
	free(err);

	write_conf("", "{ name = \"a\"; on = \"sale\"; after = \"1h\"; template = \"hello\"; },\n"
	    "{ name = \"a\"; on = \"sale\"; after = \"1h\"; template = \"nope\"; }");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:12: campaign \"a\": duplicate "
	    "campaign name; the first is at line 11"));
	assert_non_null(strstr(err, "aftersale.conf:12: campaign \"a\": template "
	    "\"nope\" not found"));
	free(err);
}

static void
test_values(void **state)
{
	struct config	*cfg;
	char		*err;

	(void)state;
	write_conf("timezone = \"UTC\";", "");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:9: duplicate setting name"));
	free(err);

	tz_name = "Mars/Olympus";
	write_conf("", "");
	tz_name = "Europe/London";
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:2: timezone \"Mars/Olympus\" "
	    "is not a known zone name"));
	free(err);

	write_conf("referral = { link = \"https://x.example/{{referral.cod}}\"; };\n"
	    "unsubscribe = { link = \"https://x.example/{{customer.email}}\"; "
	    "mailto = \"nobody\"; };", "");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:9: unknown variable "
	    "{{referral.cod}} (did you mean {{referral.code}}?)"));
	assert_non_null(strstr(err, "aftersale.conf:10: variable "
	    "{{customer.email}} cannot be used here"));
	assert_non_null(strstr(err, "aftersale.conf:10: unsubscribe.mailto "
	    "\"nobody\" is not a valid address"));
	free(err);
}

/* A config whose shop name, from name and links are `n` bytes long. */
static void
write_long(size_t name, size_t link, size_t address)
{
	char	*text, *n = malloc(name + 1), *l = malloc(link + 1);
	char	*a = malloc(address + 1);

	memset(n, 'n', name);
	n[name] = '\0';
	memset(l, 'l', link);
	l[link] = '\0';
	memset(a, 'a', address);
	a[address] = '\0';
	assert_true(asprintf(&text,
	    "database = \"test.db\";\n"				/* 1 */
	    "shop = { name = \"%s\"; };\n"				/* 2 */
	    "smtp = {\n"						/* 3 */
	    "  url = \"smtp://127.0.0.1:2525\"; tls = \"none\";\n"	/* 4 */
	    "  from = \"%s <hello@acme.example>\";\n"		/* 5 */
	    "  reply_to = \"%s@acme.example\";\n"			/* 6 */
	    "};\n"							/* 7 */
	    "unsubscribe = { link = \"https://x.example/%s\";\n"	/* 8 */
	    "  mailto = \"%s@acme.example\"; };\n"			/* 9 */
	    "campaigns = ();\n", n, n, a, l, a) != -1);
	unit_write(conf, text);
	free(text);
	free(n);
	free(l);
	free(a);
}

/* Issue 9 defect 18: nothing from the config makes a header over 998. */
static void
test_header_lengths(void **state)
{
	struct config	*cfg;
	char		*err;

	(void)state;
	write_long(200, 512 - 18, 64);		/* the longest accepted */
	assert_int_equal(config_load(conf, &cfg), 0);
	config_free(cfg);

	write_long(1200, 1200, 1200);
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:2: shop.name is 1200 bytes "
	    "long; at most 200 fit in a mail header line"));
	assert_non_null(strstr(err, "aftersale.conf:8: unsubscribe.link is 1218 "
	    "bytes long; at most 512"));
	free(err);
	write_long(201, 10, 10);
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:2: shop.name is 201 bytes"));
	free(err);

	/* Names the table cannot see: the From name and the addresses. */
	write_long(20, 10, 1200);
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:6: smtp.reply_to"));
	assert_non_null(strstr(err, "aftersale.conf:9: unsubscribe.mailto"));
	free(err);
	unit_write(conf, "shop = { name = \"Acme\"; };\n"
	    "smtp = { url = \"smtp://127.0.0.1\"; tls = \"none\";\n"
	    "  from = \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	    "nn <a@acme.example>\"; };\ndatabase = \"t.db\";\ncampaigns = ();\n");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:3: smtp.from: the name is 208 "
	    "bytes long; at most 200"));
	free(err);
}

static void
test_ranges_and_types(void **state)
{
	struct config	*cfg;
	char		*err;

	(void)state;
	write_conf("attribution = { window = \"400d\"; };\n"
	    "log_level = \"loud\";\nshop2 = 1;", "");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:9: attribution.window is "
	    "400d; it must be from 0s to 1y"));
	assert_non_null(strstr(err, "aftersale.conf:10: log_level: \"loud\" is "
	    "not one of"));
	assert_non_null(strstr(err, "aftersale.conf:11: unknown key \"shop2\""));
	free(err);
}

static void
test_syntax_error(void **state)
{
	struct config	*cfg;
	char		*err;

	(void)state;
	write_conf("smtp2 = { oops }", "");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:9: syntax error"));
	free(err);
}

/*
 * List-Id: the shop's name and followups at the From domain by default;
 * list_id may name another, with or without a name.  Feedback-ID's field
 * cannot hold a colon.
 */
static void
test_list_id(void **state)
{
	static const char *const good[][3] = {
		{ "", "Acme", "followups.acme.example" },
		{ "list_id = \"\\\"Acme News\\\" <news.acme.example>\";",
		    "Acme News", "news.acme.example" },
		{ "list_id = \"news.acme.example\";", "", "news.acme.example" },
	};
	struct config	*cfg;
	char		*err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		write_conf(good[i][0], "");
		assert_int_equal(config_load(conf, &cfg), 0);
		assert_string_equal(cfg->list.name, good[i][1]);
		assert_string_equal(cfg->list.id, good[i][2]);
		assert_string_equal(cfg->feedback_id, "");
		config_free(cfg);
	}
	write_conf("list_id = \"Acme <news>\";\nfeedback_id = \"acme:shop\";", "");
	err = load_fails(&cfg);
	assert_non_null(strstr(err, "aftersale.conf:9: list_id: \"news\" is not "
	    "a list id"));
	assert_non_null(strstr(err, "aftersale.conf:10: feedback_id \"acme:shop\" "
	    "must be letters"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_loads),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_misspelt_key),
		cmocka_unit_test(test_every_problem_reported),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_header_lengths),
		cmocka_unit_test(test_ranges_and_types),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_list_id),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
