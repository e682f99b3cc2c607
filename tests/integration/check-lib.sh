# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the CLI tests that count their checks: a work directory, ok/not_ok counters and
# helpers that keep a command's stdout in $out and stderr in $err. check_done ends the test.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
out='' err=''

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }
# check NAME EXPECTED_RC CMD...: runs CMD, keeps stdout in $out and stderr in $err.
check() {
        local name=$1 want=$2 rc
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        out=$(cat "$tmp/out") err=$(cat "$tmp/err")
        if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; else not_ok "$name: exit $rc, wanted $want; out: $out; err: $err"; fi
}
contains() { # NAME HAYSTACK NEEDLE
        if [[ "$2" == *"$3"* ]]; then ok "$1"; else not_ok "$1: '$3' not in: $2"; fi
}
lacks() { # NAME HAYSTACK NEEDLE
        if [[ "$2" != *"$3"* ]]; then ok "$1"; else not_ok "$1: '$3' in: $2"; fi
}
check_done() {
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ]
}
