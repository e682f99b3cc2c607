#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Renders each man page as man(1) does and fails on any warning from groff or man.
#
#   tests/man/test-man.sh PAGE...

set -u
command -v man >/dev/null || { echo "FAIL: man not found (install man-db, see .ci/packages.txt)"; exit 1; }
command -v groff >/dev/null || { echo "FAIL: groff not found (install groff-base)"; exit 1; }
[[ $# -gt 0 ]] || { echo "FAIL: no pages given"; exit 1; }

failed=0
for page in "$@"; do
        out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        rc=$?
        text=$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)
        if [[ $rc -ne 0 || -n $out ]]; then
                printf 'FAIL: %s (exit %d)\n%s\n' "$page" "$rc" "$out"
                failed=1
        elif [[ $text -lt 10 ]]; then
                printf 'FAIL: %s renders to %d lines\n' "$page" "$text"
                failed=1
        else
                printf 'ok: %s (%d lines)\n' "${page##*/}" "$text"
        fi
done
exit $failed
