/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Writes a unified diff (3 lines of context, as "diff -u") of two texts to f. Pure code apart
 * from the output stream. Nothing is written when the texts are equal. Labels and lines are shown
 * by the escaping rule of escape.h: the diff is for people, not for patch(1). */
void diff_unified(FILE *f, const char *label_a, const char *a, size_t na, const char *label_b, const char *b, size_t nb);
