/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sort-util.h"

bool digit_run_key(const char *s, size_t p, uint64_t *ret) {
        uint64_t v = 0;
        size_t i;

        if (s[p] < '1' || s[p] > '9' || (p > 0 && s[p - 1] >= '0' && s[p - 1] <= '9'))
                return false;
        for (i = p; s[i] >= '0' && s[i] <= '9'; i++) {
                if (i - p >= 19)
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return true;
}
