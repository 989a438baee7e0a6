/* config_load() on any text, beside the sample templates. */

#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#include "config.h"
#include "email.h"

static char	fuzz_dir[] = "/tmp/aftersale-fuzz-config.XXXXXX";
static char	fuzz_conf[sizeof(fuzz_dir) + 32];
static char	fuzz_templates[sizeof(fuzz_dir) + 32];

static void
fuzz_cleanup(void)
{
	unlink(fuzz_conf);
	unlink(fuzz_templates);
	rmdir(fuzz_dir);
}

/* A folder with the file under test and a link to conf/templates. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(fuzz_conf, sizeof(fuzz_conf), "%s/aftersale.conf", fuzz_dir);
	snprintf(fuzz_templates, sizeof(fuzz_templates), "%s/templates", fuzz_dir);
	if (symlink(FUZZ_SRCDIR "/conf/templates", fuzz_templates) == -1)
		abort();
	atexit(fuzz_cleanup);
	return 0;
}

/* What the rest of the daemon relies on once a config has loaded. */
static void
fuzz_check_config(const struct config *cfg)
{
	FUZZ_CHECK(cfg->database_path != NULL && cfg->templates_path != NULL);
	FUZZ_CHECK(cfg->smtp.from_address != NULL && cfg->smtp.from_name != NULL);
	FUZZ_CHECK(email_check(cfg->smtp.from_address) == NULL);
	FUZZ_CHECK(strchr(cfg->smtp.from_address, '@') != NULL);
	FUZZ_CHECK(cfg->smtp.max_connections >= 1);
	FUZZ_CHECK(cfg->delivery.retry.n >= 1);
	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		const struct campaign *c = &cfg->campaigns[i];

		FUZZ_CHECK(c->name != NULL && c->text != NULL);
		FUZZ_CHECK(c->text->subject.count > 0);
		FUZZ_CHECK(config_campaign(cfg, c->name) == c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg = NULL;
	FILE		*fp;

	/*
	 * "@include" may name any file: a device such as /dev/stdin or
	 * /dev/zero would block or never end, which says nothing about us.
	 */
	if (memmem(data, size, "/dev", 4) != NULL ||
	    memmem(data, size, "/proc", 5) != NULL ||
	    memmem(data, size, "/sys", 4) != NULL)
		return 0;
	if ((fp = fopen(fuzz_conf, "wb")) == NULL)
		abort();
	if (fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
	if (config_load(fuzz_conf, &cfg) == 0) {
		fuzz_check_config(cfg);
		config_free(cfg);
	}
	return 0;
}
