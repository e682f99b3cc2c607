/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* The names Kubernetes accepts (k8s.io/apimachinery/pkg/util/validation), for what we hand to it. */

/* A DNS-1123 label: lowercase letters, digits and '-', at most 63, alphanumeric at both ends. */
bool k8s_dns_label_is_valid(const char *s);
/* A DNS-1123 subdomain (object names such as a MachineConfig's): dot-separated DNS-1123 labels,
 * at most 253 characters. */
bool k8s_object_name_is_valid(const char *s);
/* A label value: empty, or letters, digits, '-', '_' and '.', at most 63, alphanumeric at both ends. */
bool k8s_label_value_is_valid(const char *s);
