#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A racing swapper: while apply and rollback run again and again, a background loop swaps
# boot/loader/entries and etc/iommu between the real directory and a symlink (absolute, then
# relative) to a directory OUTSIDE the root that holds copies of the same files. Whatever each run
# decides (it may write, refuse or fail), nothing outside the root is ever created, replaced or
# deleted. Bounded: RACE_ROUNDS apply+rollback rounds (default 30) or RACE_SECONDS (default 120),
# whichever ends first. Runs with openat2() and, as IOMMUCTL_NO_OPENAT2=1 in the test list, with
# the component walk.
. "$(dirname "$0")/../integration/apply-lib.sh"
T=${HOSTILE_TIMEOUT:-30}
ROUNDS=${RACE_ROUNDS:-30}
SECONDS_MAX=${RACE_SECONDS:-120}
decoy="$TMP/decoy"
root="$TMP/img"

outside_sum() {
        # Everything outside the root: the decoy and the rest of $TMP (the swapper's own state
        # file excepted), names, types, sizes, modes, link targets and contents.
        (cd "$TMP" && find . -path ./img -prune -o -path ./swapper.state -prune -o -path ./out -prune -o -path ./swaps -prune -o \
                -printf '%p %y %s %m %l %i\n' | sort
         cd "$TMP" && find . -path ./img -prune -o -type f ! -name swapper.state ! -name out ! -name swaps -exec sha256sum {} + | sort)
}

fresh rhel9-bls-grub "$root"
mkdir -p "$root/etc/iommu" "$decoy"
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n' > "$root/etc/iommu/iommu.conf"
# The decoy holds copies: an unconfined apply would find entries to rewrite and a profile there.
cp -a "$root/boot/loader/entries" "$decoy/entries"
printf '[IOMMU]\nProfile=strict\nVendor=intel\n' > "$decoy/iommu.conf.src"
mkdir -p "$decoy/iommu"
cp "$decoy/iommu.conf.src" "$decoy/iommu/iommu.conf"
# apply creates etc/iommu/selection and rollback removes it: an unconfined removal deletes this.
printf '[IOMMU]\nProfile=strict\n' > "$decoy/iommu/selection"
before=$(outside_sum)

# The swapper, in a tight loop (a shell loop spawning mv and ln swaps a few times a second, far
# slower than the windows it must hit): each round moves the real directory aside, puts a symlink
# (absolute, or relative on odd rounds) to the outside copy in its place, then puts the real one
# back. It runs until swapper.state is removed and writes how many rounds it made to swaps.
swapper() {
        python3 - "$root" "$decoy" "$TMP" <<'PY'
import os, sys
root, decoy, tmp = sys.argv[1:4]
pairs = [(os.path.join(root, "boot/loader/entries"), os.path.join(decoy, "entries")),
         (os.path.join(root, "etc/iommu"), os.path.join(decoy, "iommu"))]
n = 0
while os.path.exists(os.path.join(tmp, "swapper.state")):
    n += 1
    for d, out in pairs:
        target = out if n % 2 == 0 else os.path.relpath(out, os.path.dirname(d))
        try:
            os.rename(d, d + ".real")
        except OSError:
            continue
        try:
            os.symlink(target, d)
            for _ in range(20):  # the symlink stays a little while: an unconfined open meets it
                os.stat(d + ".real")
            os.unlink(d)
        except OSError:
            pass
        while True:
            try:
                os.rename(d + ".real", d)
                break
            except OSError:
                # The tool made the directory anew while it was missing: move that aside.
                os.rename(d, "%s.made-%d" % (d, n))
with open(os.path.join(tmp, "swaps"), "w") as f:
    f.write("%d\n" % n)
PY
}

touch "$TMP/swapper.state"
swapper &
swapper_pid=$!
trap 'rm -f "$TMP/swapper.state"; wait $swapper_pid 2> /dev/null; rm -rf "$TMP"' EXIT

start=$(date +%s)
rounds=0 applied=0 rolled=0
while [ $rounds -lt "$ROUNDS" ] && [ $(($(date +%s) - start)) -lt "$SECONDS_MAX" ]; do
        rounds=$((rounds + 1))
        for cmd in "apply --profile gpu-sriov --vendor intel" "rollback" "apply --vendor intel" "rollback"; do
                rc=0
                # shellcheck disable=SC2086
                timeout "$T" "$IOMMUCTL" $cmd --root "$root" > "$TMP/out" 2>&1 || rc=$?
                [ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "hung (timeout ${T}s): $cmd"
                [ "$rc" -lt 128 ] || fail "crashed (exit $rc): $cmd: $(cat "$TMP/out")"
                ! grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/out" || fail "sanitizer report: $cmd: $(cat "$TMP/out")"
                if [ "$rc" = 0 ]; then
                        case $cmd in apply*) applied=$((applied + 1)) ;; *) rolled=$((rolled + 1)) ;; esac
                fi
                [ "$(outside_sum)" = "$before" ] || {
                        diff <(echo "$before") <(outside_sum) >&2 || true
                        fail "round $rounds, $cmd: something outside the root was created, replaced or deleted"
                }
        done
done
rm -f "$TMP/swapper.state"
wait $swapper_pid
swaps=$(cat "$TMP/swaps")
[ "$(outside_sum)" = "$before" ] || { diff <(echo "$before") <(outside_sum) >&2; fail "after the race: something outside the root changed"; }
# The race really ran: the swapper swapped while commands ran, and some runs went through.
[ "$swaps" -gt "$rounds" ] || fail "the swapper swapped only $swaps times in $rounds rounds"
[ $applied -gt 0 ] || fail "no apply succeeded in $rounds rounds: the race proved nothing"
echo "ok: $rounds rounds (apply and rollback, $applied applies and $rolled rollbacks succeeded) against $swaps swaps of boot/loader/entries and etc/iommu: nothing outside the root changed (IOMMUCTL_NO_OPENAT2=${IOMMUCTL_NO_OPENAT2:-0})"
