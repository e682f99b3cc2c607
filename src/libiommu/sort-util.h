/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of the run of digits that starts at s[p], as a key both version orders (glibc's
 * strverscmp() and systemd's strverscmp_improved()) decide by when two strings equal before p
 * have different such values at p: false when s[p] starts no run of digits, when s[p - 1] is a
 * digit too (the run starts earlier), when it starts with '0' (strverscmp() reads a fraction
 * there) or when it does not fit 64 bits. */
bool digit_run_key(const char *s, size_t p, uint64_t *ret);
