/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kubernetes.h"

static bool ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool k8s_dns_label_is_valid(const char *s) {
        size_t l;

        if (isempty(s))
                return false;
        l = strlen(s);
        if (l > 63 || s[0] == '-' || s[l - 1] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

bool k8s_label_value_is_valid(const char *s) {
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        if (l == 0)
                return true;
        if (l > 63 || !ascii_alnum(s[0]) || !ascii_alnum(s[l - 1]))
                return false;
        for (const char *p = s; *p; p++)
                if (!ascii_alnum(*p) && !strchr("-_.", *p))
                        return false;
        return true;
}

bool k8s_object_name_is_valid(const char *s) {
        _cleanup_free_ char *copy = NULL;

        if (isempty(s) || strlen(s) > 253)
                return false;
        copy = strdup(s);
        if (!copy)
                return false;
        for (char *label = copy, *dot; label; label = dot ? dot + 1 : NULL) {
                dot = strchr(label, '.');
                if (dot)
                        *dot = '\0';
                if (!k8s_dns_label_is_valid(label))
                        return false;
        }
        return true;
}
