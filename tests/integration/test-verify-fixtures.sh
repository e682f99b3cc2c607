#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Replays every case of tests/fixtures/verify-cases.txt (one suite argument: "captured" for
# the qemu-* trees, "synthetic" for the synthetic-* ones) and compares "verify --json" with
# the expected verdict file, and the exit code with the verdict.
. "$(dirname "$0")/lib.sh"
kind=${1:?captured|synthetic}
prefix=qemu-
[ "$kind" = synthetic ] && prefix=synthetic-
n=0
while read -r host profile _; do
        case $host in "$prefix"*) ;; *) continue ;; esac
        n=$((n + 1))
        d=$HOSTS/$host
        if [ ! -d "$d/root" ]; then
                fail "$host: fixture tree $d/root is missing (the qemu-* trees come from tests/vm/capture-fixtures.sh, branch vm)"
                continue
        fi
        expected=$d/expected/verify-$profile.json
        [ -f "$expected" ] || { fail "$host: no $expected"; continue; }
        log=()
        [ -f "$d/kmsg.txt" ] && log=(--kernel-log "$d/kmsg.txt")
        rc=0
        out=$("$IOMMUCTL" verify --json --no-journal --profile "$profile" --root "$d/root" "${log[@]}") || rc=$?
        if ! diff -u "$expected" <(printf '%s\n' "$out") >&2; then
                fail "$host/$profile: verify --json differs from $expected"
                continue
        fi
        verdict=$(sed -n 's/^  "verdict": "\(.*\)",$/\1/p' <<<"$out")
        want_rc=0
        [ "$verdict" = fail ] && want_rc=1
        [ "$rc" -eq "$want_rc" ] || { fail "$host/$profile: exit $rc for verdict $verdict"; continue; }
        ok "$host/$profile: $verdict (exit $rc)"
done < <(grep -v '^#' "$SRCDIR/tests/fixtures/verify-cases.txt")
[ "$n" -gt 0 ] || fail "no $kind cases in verify-cases.txt"
finish
