/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* A small streaming JSON writer for iommuctl's documented --json output (output only; nothing in
 * this project parses JSON). Pretty-printed with two-space indentation. */

typedef struct JsonWriter {
        FILE *f;
        unsigned depth;
        bool need_comma;
        bool after_key;
} JsonWriter;

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s); /* NULL writes null */
void json_int(JsonWriter *w, long long i);
void json_bool(JsonWriter *w, bool b);
void json_null(JsonWriter *w);
/* A double-quoted string with JSON escapes, which YAML and TOML basic strings read the same way. */
void json_write_quoted(FILE *f, const char *s);
/* Ends the document with a newline. */
void json_finish(JsonWriter *w);

static inline void json_field_string(JsonWriter *w, const char *k, const char *v) {
        json_key(w, k);
        json_string(w, v);
}
static inline void json_field_int(JsonWriter *w, const char *k, long long v) {
        json_key(w, k);
        json_int(w, v);
}
static inline void json_field_bool(JsonWriter *w, const char *k, bool v) {
        json_key(w, k);
        json_bool(w, v);
}
/* true, false, or null for -1 (unknown). */
static inline void json_field_tristate(JsonWriter *w, const char *k, int v) {
        json_key(w, k);
        if (v < 0)
                json_null(w);
        else
                json_bool(w, v);
}
