#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes the 1st, 2nd, ... write, fsync and rename under the root fail in turn (ENOSPC, EIO,
# EROFS), until apply gets through. Every failed run must exit non-zero naming the file, and
# leave every boot file byte for byte as it was; the run after it must still give expected/.
# Then the same with a crash (the process dies at that call): each boot file is wholly old or
# wholly new, and rollback (or the next apply) brings back a consistent tree.
# Usage: test-apply-faults.sh SHIM [FIXTURE...]
. "$(dirname "$0")/apply-lib.sh"
SHIM=${1:?}
shift
fixtures=("$@")
[ ${#fixtures[@]} -gt 0 ] || fixtures=($(cd "$FIXTURES" && ls))
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

total=0
for name in "${fixtures[@]}"; do
        read -r -a args < "$FIXTURES/$name/args"
        root="$TMP/root"
        in="$FIXTURES/$name/input"
        exp="$FIXTURES/$name/expected"

        for spec in write:ENOSPC fsync:EIO rename:EROFS; do
                op=${spec%%:*}
                err=${spec#*:}
                for nth in $(seq 1 500); do
                        fresh "$name" "$root"
                        rm -f "$TMP/fired"
                        rc=0
                        FAULT_ROOT="$root" FAULT_OP=$op FAULT_NTH=$nth FAULT_ERRNO=$err FAULT_FIRED="$TMP/fired" \
                                LD_PRELOAD="$SHIM" "$IOMMUCTL" apply --root "$root" "${args[@]}" > "$TMP/out" 2> "$TMP/err" || rc=$?
                        if [ ! -e "$TMP/fired" ]; then
                                [ $rc = 0 ] || fail "$name: apply failed without a fault: $(cat "$TMP/err")"
                                same_tree "$exp" "$root" || fail "$name: result differs from expected/"
                                break
                        fi
                        total=$((total + 1))
                        [ $rc = 2 ] || fail "$name: $op #$nth failed with $err but apply exited $rc"
                        grep -q "$root/" "$TMP/err" || fail "$name: $op #$nth: the error does not name the file: $(cat "$TMP/err")"
                        # A failed run is undone completely: every boot file is the old one.
                        same_tree "$in" "$root" || fail "$name: $op #$nth left a changed tree"
                        old_or_new "$in" "$exp" "$root"
                        # And the journal does not stand in the way of the next run.
                        "$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "$name: apply after $op #$nth failed"
                        same_tree "$exp" "$root" || fail "$name: apply after $op #$nth differs from expected/"
                        "$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "$name: rollback after $op #$nth failed"
                        same_tree "$in" "$root" || fail "$name: rollback after $op #$nth differs from input/"
                done
                [ "$nth" -gt 3 ] || fail "$name: only $nth ${op}s under the root?"
                echo "$name: $((nth - 1)) failing ${op}s ($err), each left the old files"
        done

        # Crashes at every step.
        for nth in $(seq 1 500); do
                fresh "$name" "$root"
                rm -f "$TMP/fired"
                rc=0
                FAULT_ROOT="$root" FAULT_OP=any FAULT_NTH=$nth FAULT_CRASH=1 FAULT_FIRED="$TMP/fired" \
                        LD_PRELOAD="$SHIM" "$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2> "$TMP/err" || rc=$?
                if [ ! -e "$TMP/fired" ]; then
                        [ $rc = 0 ] || fail "$name: apply failed without a fault"
                        break
                fi
                total=$((total + 1))
                [ $rc = 99 ] || fail "$name: crash #$nth: exit $rc"
                rm -rf "$TMP/copy" && cp -a "$root" "$TMP/copy"
                # Temporaries may be left next to a file; everything else is old or new.
                find "$root" -name '.#*' ! -path '*/var/*' -delete
                old_or_new "$in" "$exp" "$root"
                # rollback after the crash: the input again.
                "$IOMMUCTL" rollback --root "$root" > /dev/null 2> "$TMP/err" || fail "$name: rollback after crash #$nth: $(cat "$TMP/err")"
                same_tree "$in" "$root" || fail "$name: rollback after crash #$nth differs from input/"
                # apply after the crash (on the copy, temporaries included): recovers, cleans up,
                # then gives expected/.
                "$IOMMUCTL" apply --root "$TMP/copy" "${args[@]}" > /dev/null 2>&1 || fail "$name: apply after crash #$nth failed"
                same_tree "$exp" "$TMP/copy" || fail "$name: apply after crash #$nth differs from expected/"
        done
        echo "$name: crashes at each of $((nth - 1)) steps, each recovered"
done
echo "OK: $total injected faults"
