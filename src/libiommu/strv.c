/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "strv.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;
        STRV_FOREACH(s, l)
                n++;
        return n;
}

bool strv_contains(char * const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **t;

        if (!s)
                return -ENOMEM;
        t = realloc(*l, sizeof(char *) * (n + 2));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        t[n] = s;
        t[n + 1] = NULL;
        *l = t;
        return 0;
}

int strv_consume_n(char ***l, size_t *n, size_t *allocated, char *s) {
        if (!s)
                return -ENOMEM;
        if (GREEDY_REALLOC(*l, *allocated, *n + 2, 16) < 0) {
                free(s);
                return -ENOMEM;
        }
        (*l)[(*n)++] = s;
        (*l)[*n] = NULL;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

int strv_extend_strv(char ***a, char * const *b) {
        STRV_FOREACH(s, b) {
                int r = strv_extend(a, *s);
                if (r < 0)
                        return r;
        }
        return 0;
}

int strv_split(const char *s, const char *separators, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t k = 0;

        /* Counted first: one allocation of the list. */
        for (const char *p = s;;) {
                size_t n;

                p += strspn(p, separators);
                n = strcspn(p, separators);
                if (n == 0)
                        break;
                k++;
                p += n;
        }
        /* An empty result is an empty list, not NULL, so callers can tell it from "not set". */
        l = calloc(k + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++) {
                size_t n;

                s += strspn(s, separators);
                n = strcspn(s, separators);
                l[i] = strndup(s, n);
                if (!l[i])
                        return -ENOMEM;
                s += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

char *strv_join(char * const *l, const char *sep) {
        size_t n = 1, k = strlen(sep);
        char *r, *p;

        STRV_FOREACH(s, l)
                n += strlen(*s) + k;
        r = p = malloc(n);
        if (!r)
                return NULL;
        *p = '\0';
        STRV_FOREACH(s, l) {
                if (s != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *s);
        }
        return r;
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int strv_sort(char **l) {
        if (l) /* qsort() must not be given NULL, even for no elements */
                qsort(l, strv_length(l), sizeof(char *), str_compare);
        return 0;
}
