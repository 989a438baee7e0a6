/* Send windows: the hours of the shop's day when mail may go out. */
#ifndef AFTERSALE_WINDOW_H
#define AFTERSALE_WINDOW_H

#include <stdint.h>

#include "config.h"

int64_t	window_next(const struct window *w, int64_t t);

#endif
