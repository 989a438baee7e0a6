/* Secrets: read from a file or a systemd credential, never logged. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

struct secret {
	size_t	len;
	char	value[SECRET_MAX + 2];	/* a newline to strip, and NUL */
};

/*
 * Each secret lives in pages of its own, left out of core dumps
 * (MADV_DONTDUMP): a crash report must not carry the relay password.
 * `run` also makes the whole process non-dumpable (PR_SET_DUMPABLE), which
 * covers the copies we cannot control, such as libcurl's.
 */
static struct secret *
secret_alloc(void)
{
	void *p = mmap(NULL, sizeof(struct secret), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, sizeof(struct secret), MADV_DONTDUMP) == -1) {
		munmap(p, sizeof(struct secret));
		return NULL;
	}
	return p;	/* anonymous pages come zeroed */
}

/* Wipe before letting go, whoever gets these pages next. */
void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, sizeof(*s));
	munmap(s, sizeof(*s));
}

const char *
secret_value(const struct secret *s)
{
	return s->value;
}

/*
 * Read one secret: the file `path` when it is not empty, else the systemd
 * credential `credential` ($CREDENTIALS_DIRECTORY/NAME) when there is one.
 * One trailing newline ("\n" or "\r\n") is taken off, as editors add it;
 * a SECRET_LINE secret must then be one line, a SECRET_PEM one may have
 * many.
 *
 * A file must be readable by its owner only: a secret that every local
 * user can read is no secret, and saying so early beats finding out from
 * an audit.  A credential is not checked: systemd writes it, with the mode
 * it chooses, below a folder only the service can enter.
 *
 * Read with read(2) straight into the secret's buffer, so that no stdio
 * buffer keeps a copy.  Returns 0 with *out (freed with secret_free();
 * NULL when neither the file nor the credential is there), or -1 with the
 * reason in why: it names the file, never what is in it.
 */
int
secret_read(const char *path, const char *credential, enum secret_shape shape,
    struct secret **out, char *why, size_t size)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	char		 cred[4096];
	struct secret	*s = NULL;
	struct stat	 st;
	ssize_t		 n;
	int		 fd, is_file = path != NULL && *path != '\0';

	*out = NULL;
	if (!is_file) {
		if (credential == NULL || dir == NULL || *dir == '\0')
			return 0;
		if ((size_t)snprintf(cred, sizeof(cred), "%s/%s", dir,
		    credential) >= sizeof(cred)) {
			snprintf(why, size, "$CREDENTIALS_DIRECTORY is too long");
			return -1;
		}
		path = cred;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (!is_file && errno == ENOENT)
			return 0;
		snprintf(why, size, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, size, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "%s is not a regular file", path);
		goto fail;
	}
	if (st.st_size > SECRET_MAX + 2) {
		snprintf(why, size, "%s is longer than %d bytes", path,
		    SECRET_MAX);
		goto fail;
	}
	if (is_file && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		snprintf(why, size, "%s is readable by %s: run chmod 600 %s",
		    path, (st.st_mode & S_IROTH) ? "every user" :
		    "its group", path);
		goto fail;
	}
	if ((s = secret_alloc()) == NULL) {
		snprintf(why, size, "out of memory reading %s", path);
		goto fail;
	}
	for (;;) {
		n = read(fd, s->value + s->len, sizeof(s->value) - 1 - s->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, size, "cannot read %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0 || (s->len += (size_t)n) == sizeof(s->value) - 1)
			break;
	}
	if (s->len > 0 && s->value[s->len - 1] == '\n')
		s->value[--s->len] = '\0';
	if (s->len > 0 && s->value[s->len - 1] == '\r')
		s->value[--s->len] = '\0';
	if (s->len > SECRET_MAX) {
		snprintf(why, size, "%s is longer than %d bytes", path,
		    SECRET_MAX);
		goto fail;
	}
	if (s->len == 0) {
		snprintf(why, size, "%s is empty", path);
		goto fail;
	}
	if (strlen(s->value) != s->len) {
		snprintf(why, size, "%s holds a NUL byte", path);
		goto fail;
	}
	if (shape == SECRET_LINE && strpbrk(s->value, "\r\n") != NULL) {
		snprintf(why, size, "%s holds more than one line; the secret "
		    "is its one line", path);
		goto fail;
	}
	close(fd);
	*out = s;
	return 0;

fail:
	close(fd);
	secret_free(s);
	return -1;
}
