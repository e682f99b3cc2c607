/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "escape.h"
#include "json.h"

static void newline_indent(JsonWriter *w) {
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Separator and indentation before a value or key. */
static void before_item(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->need_comma)
                fputc(',', w->f);
        if (w->depth > 0)
                newline_indent(w);
}

static void open_container(JsonWriter *w, char c) {
        before_item(w);
        fputc(c, w->f);
        w->depth++;
        w->need_comma = false;
}

static void close_container(JsonWriter *w, char c) {
        bool empty = !w->need_comma;
        w->depth--;
        if (!empty)
                newline_indent(w);
        fputc(c, w->f);
        w->need_comma = true;
}

void json_begin_object(JsonWriter *w) {
        open_container(w, '{');
}

void json_end_object(JsonWriter *w) {
        close_container(w, '}');
}

void json_begin_array(JsonWriter *w) {
        open_container(w, '[');
}

void json_end_array(JsonWriter *w) {
        close_container(w, ']');
}

void json_write_quoted(FILE *f, const char *s) {
        fputc('"', f);
        for (const char *p = s; *p;) {
                size_t n = utf8_sequence_length(p, strnlen(p, 4));
                unsigned cp;

                if (n == 0) {
                        /* Not UTF-8 (a byte of /proc/cmdline or of a file name): the four characters
                         * \xNN, as the text output shows it, so the document stays valid UTF-8
                         * (documented in iommuctl(8) and doc/verify-json.md). */
                        fprintf(f, "\\\\x%02x", (unsigned char) *p++);
                        continue;
                }
                cp = utf8_decode(p, n);
                switch (cp) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                default:
                        /* \uXXXX means the same in JSON, YAML and TOML: the C0, DEL and C1 controls
                         * are written that way; other characters pass as UTF-8. */
                        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
                                fprintf(f, "\\u%04x", cp);
                        else
                                fwrite(p, 1, n, f);
                }
                p += n;
        }
        fputc('"', f);
}

void json_key(JsonWriter *w, const char *key) {
        before_item(w);
        json_write_quoted(w->f, key);
        fputs(": ", w->f);
        w->after_key = true;
        w->need_comma = true;
}

void json_string(JsonWriter *w, const char *s) {
        if (!s)
                return json_null(w);
        before_item(w);
        json_write_quoted(w->f, s);
        w->need_comma = true;
}

void json_int(JsonWriter *w, long long i) {
        before_item(w);
        fprintf(w->f, "%lld", i);
        w->need_comma = true;
}

void json_bool(JsonWriter *w, bool b) {
        before_item(w);
        fputs(b ? "true" : "false", w->f);
        w->need_comma = true;
}

void json_null(JsonWriter *w) {
        before_item(w);
        fputs("null", w->f);
        w->need_comma = true;
}

void json_finish(JsonWriter *w) {
        fputc('\n', w->f);
}
