/* What the cmocka unit tests share. */
#ifndef AFTERSALE_UNIT_H
#define AFTERSALE_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/*
 * Capture what the code under test writes to stderr (its error messages)
 * into a string the caller frees.
 */
char	*unit_capture_begin(void);
char	*unit_capture_end(void);

/* A fresh folder under AFTERSALE_TMPDIR (or /tmp) for files a test writes. */
const char *unit_tmpdir(const char *name);
void	unit_write(const char *path, const char *text);

#endif
