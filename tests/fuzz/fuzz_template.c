/* Templates: a whole file through template_load, then rendered. */

#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#include "template.h"

static char	fuzz_path[] = "/tmp/aftersale-fuzz-template.XXXXXX";

static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	if ((fd = mkstemp(fuzz_path)) == -1)
		abort();
	close(fd);
	atexit(fuzz_cleanup);
	return 0;
}

static size_t
fuzz_count(const char *s, const char *what)
{
	size_t n = 0;

	for (; (s = strstr(s, what)) != NULL; s++)
		n++;
	return n;
}

/*
 * Render with every value set to plain text, then to markup.  In HTML the
 * values are escaped, so the markup adds no '<', '"' or '\'' of its own;
 * in text each variable gives the markup as it is.
 */
static void
fuzz_render(const struct template_text *t)
{
	const char	*plain[VAR_COUNT], *markup[VAR_COUNT], *none[VAR_COUNT];
	char		*a, *b, *c, *d;
	size_t		 vars = 0;

	for (int v = 0; v < VAR_COUNT; v++) {
		plain[v] = "x";
		markup[v] = "<a href=\"x\">&'</a>";
		none[v] = NULL;		/* every variable takes its fallback */
	}
	for (size_t i = 0; i < t->count; i++)
		vars += t->pieces[i].var >= 0;
	a = template_render(t, plain, 1);
	b = template_render(t, markup, 1);
	c = template_render(t, markup, 0);
	d = template_render(t, none, 0);
	FUZZ_CHECK(a != NULL && b != NULL && c != NULL && d != NULL);
	FUZZ_CHECK(fuzz_count(a, "<") == fuzz_count(b, "<"));
	FUZZ_CHECK(fuzz_count(a, "\"") == fuzz_count(b, "\""));
	FUZZ_CHECK(fuzz_count(a, "'") == fuzz_count(b, "'"));
	FUZZ_CHECK(fuzz_count(c, "<a href") >= vars);
	free(a);
	free(b);
	free(c);
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template	*t;
	FILE		*fp;
	int		 errors = 0;

	if ((fp = fopen(fuzz_path, "wb")) == NULL)
		abort();
	if (fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
	/*
	 * Inputs with an odd first byte are NAME.txt (headers, then the
	 * body: 'S' of "Subject" is odd), the others NAME.html ('<' is even).
	 */
	if (template_load(fuzz_path, size > 0 && (data[0] & 1),
	    TEMPLATE_VARS_MESSAGE | TEMPLATE_VARS_COUPON, &errors, &t) == -1) {
		FUZZ_CHECK(errors > 0);
		return 0;
	}
	FUZZ_CHECK(errors == 0);
	fuzz_render(&t->subject);
	fuzz_render(&t->body);
	template_free(t);
	return 0;
}
