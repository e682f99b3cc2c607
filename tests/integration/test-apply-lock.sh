#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Concurrent runs are serialised by ROOT/var/lib/iommu/lock: a run waits for the holder (saying
# so), gives up after $IOMMUCTL_LOCK_TIMEOUT with a clear message, and parallel runs never
# interleave (one change set, expected result).
. "$(dirname "$0")/apply-lib.sh"
command -v flock > /dev/null || fail "flock is not installed (util-linux)"
root="$TMP/root"
args=(--profile gpu-sriov --vendor intel)

fresh rhel9-bls-grub "$root"
mkdir -p "$root/var/lib/iommu"
cp -a "$root" "$TMP/before"

# Held for longer than the timeout: fail, nothing written.
flock "$root/var/lib/iommu/lock" sleep 3 &
holder=$!
sleep 0.3
rc=0
IOMMUCTL_LOCK_TIMEOUT=1 "$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "apply under a held lock exited $rc"
grep -q "still holds $root/var/lib/iommu/lock" "$TMP/err" || fail "no clear message: $(cat "$TMP/err")"
same_tree "$TMP/before" "$root" || fail "apply under a held lock changed files"

# Held for a moment: wait, then go on.
start=$(date +%s%N)
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2> "$TMP/err" || fail "apply after waiting failed: $(cat "$TMP/err")"
grep -q "waiting for it to finish" "$TMP/err" || fail "apply did not say it waited"
wait $holder
same_tree "$FIXTURES/rhel9-bls-grub/expected" "$root" || fail "apply after waiting: wrong result"
echo "waited $(( ($(date +%s%N) - start) / 1000000 )) ms for the lock"

# Eight at once.
fresh rhel9-bls-grub "$root"
pids=()
for i in 1 2 3 4 5 6 7 8; do
        "$IOMMUCTL" apply --root "$root" "${args[@]}" > "$TMP/out.$i" 2>&1 &
        pids+=($!)
done
for p in "${pids[@]}"; do
        wait "$p" || fail "a parallel apply failed"
done
same_tree "$FIXTURES/rhel9-bls-grub/expected" "$root" || fail "parallel applies: wrong result"
[ "$(ls "$root/var/lib/iommu/changesets")" = 00000001 ] || fail "parallel applies recorded $(ls "$root/var/lib/iommu/changesets" | wc -l) change sets"
[ "$(grep -l 'Nothing to change' "$TMP"/out.* | wc -l)" = 7 ] || fail "expected seven runs to find nothing to change"
echo "OK"
