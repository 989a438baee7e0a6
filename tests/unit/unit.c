/* What the cmocka unit tests share. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static int	saved_stderr = -1;
static FILE	*capture;

char *
unit_capture_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
	return NULL;
}

char *
unit_capture_end(void)
{
	char	*text;
	long	 n;

	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	n = ftell(capture);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	rewind(capture);
	assert_int_equal(fread(text, 1, (size_t)n, capture), (size_t)n);
	fclose(capture);
	return text;
}

const char *
unit_tmpdir(const char *name)
{
	static char	 path[4096];
	const char	*base = getenv("AFTERSALE_TMPDIR");
	char		 cmd[4200];

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(path, sizeof(path), "%s/unit-%s-%ld", base, name, (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	return path;
}

void
unit_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}
