/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "escape.h"

size_t utf8_sequence_length(const char *s, size_t left) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned min, cp;
        size_t len;

        if (left == 0)
                return 0;
        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                len = 2;
                min = 0x80;
                cp = p[0] & 0x1f;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                min = 0x800;
                cp = p[0] & 0x0f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                min = 0x10000;
                cp = p[0] & 0x07;
        } else
                return 0; /* a continuation byte, 0xc0/0xc1 (always overlong) or 0xf5-0xff */
        if (len > left)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0; /* cut short (a terminating NUL fails this test too) */
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

unsigned utf8_decode(const char *s, size_t len) {
        static const unsigned char first_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
        const unsigned char *p = (const unsigned char *) s;
        unsigned cp = p[0] & first_mask[len];

        for (size_t i = 1; i < len; i++)
                cp = (cp << 6) | (p[i] & 0x3f);
        return cp;
}

bool utf8_is_valid(const char *s) {
        size_t left = strlen(s);

        for (size_t n; left > 0; s += n, left -= n) {
                n = utf8_sequence_length(s, left);
                if (n == 0)
                        return false;
        }
        return true;
}

/* How many bytes at s are written as they are (0: the byte at s is escaped); *ret_escaped: how
 * many bytes to escape when 0 (both bytes of a C1 control, else one). */
static size_t kept_length(const char *s, size_t left, size_t *ret_escaped) {
        size_t n = utf8_sequence_length(s, left);
        unsigned cp;

        *ret_escaped = 1;
        if (n == 0)
                return 0;
        cp = utf8_decode(s, n);
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
                *ret_escaped = n; /* C0, DEL and C1 controls: each byte escaped */
                return 0;
        }
        return n;
}

char *escape_text(const char *s) {
        size_t size = 1, n = 0;
        char *r, *p;

        /* Printable ASCII is kept as it is: a copy, without decoding (every sysfs name). */
        while ((unsigned char) s[n] >= 0x20 && (unsigned char) s[n] < 0x7f)
                n++;
        if (!s[n]) {
                r = malloc(n + 1);
                return r ? memcpy(r, s, n + 1) : NULL;
        }
        n += strlen(s + n);

        for (size_t i = 0, k, e; i < n; i += k ?: e) {
                k = kept_length(s + i, n - i, &e);
                size += k ?: 4 * e;
        }
        r = p = malloc(size);
        if (!r)
                return NULL;
        for (size_t i = 0, k, e; i < n; i += k ?: e) {
                k = kept_length(s + i, n - i, &e);
                if (k > 0)
                        p = mempcpy(p, s + i, k);
                else
                        for (size_t x = 0; x < e; x++)
                                p += sprintf(p, "\\x%02x", (unsigned char) s[i + x]);
        }
        *p = '\0';
        return r;
}

void fwrite_escaped(const char *s, size_t n, FILE *f) {
        for (size_t i = 0, k, e; i < n; i += k ?: e) {
                k = kept_length(s + i, n - i, &e);
                if (k > 0)
                        fwrite(s + i, 1, k, f);
                else
                        for (size_t x = 0; x < e; x++)
                                fprintf(f, "\\x%02x", (unsigned char) s[i + x]);
        }
}

void fputs_escaped(const char *s, FILE *f) {
        fwrite_escaped(s, strlen(s), f);
}

void escape_buffer_done(EscapeBuffer *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->items[i]);
        b->items = mfree(b->items);
        b->n = 0;
}

const char *escaped(EscapeBuffer *b, const char *s) {
        char **t, *e;

        if (!s)
                return NULL;
        t = reallocarray(b->items, b->n + 1, sizeof(char *));
        if (!t)
                return "(out of memory)";
        b->items = t;
        e = escape_text(s);
        if (!e)
                return "(out of memory)";
        b->items[b->n++] = e;
        return e;
}
