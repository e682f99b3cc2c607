#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The selection is the state: apply --profile/--vendor records what it applied in
# /etc/iommu/selection, in the same change set as the boot files, so the generator at the next
# boot enforces what was applied (not Profile= of iommu.conf), rollback restores the previous
# selection byte for byte, an image build remembers profile and vendor and is not left with the
# lock file, and a backend asked for and not found is an error (exit 2).
# Needs IOMMUCTL, SRCDIR and GENERATOR (the iommu-generator binary).
. "$(dirname "$0")/apply-lib.sh"
: "${GENERATOR:?}"
GEN_FIXTURES="$SRCDIR/tests/fixtures/generator"
SEL=etc/iommu/selection

# generator ROOT: runs the generator on ROOT; sets $gen_out (what it created) and $gen_log.
generator() {
        rm -rf "$TMP/gen"
        mkdir -p "$TMP/gen/normal" "$TMP/gen/early" "$TMP/gen/late"
        IOMMU_GENERATOR_ROOT="$1" "$GENERATOR" "$TMP/gen/normal" "$TMP/gen/early" "$TMP/gen/late" 2> "$TMP/gen.log" < /dev/null ||
                fail "generator exited $?"
        gen_out=$(cd "$TMP/gen" && find . -mindepth 2 | sort)
        gen_log=$(cat "$TMP/gen.log")
}

# boot_with ROOT TOKENS: the command line the booted system would run with.
boot_with() {
        mkdir -p "$1/proc"
        echo "BOOT_IMAGE=/vmlinuz-6.1.0-21-amd64 root=UUID=1b2c ro quiet $2" > "$1/proc/cmdline"
}

## 1. apply --profile on a tree whose iommu.conf selects another profile.
T="$TMP/node"
fresh debian-grub-dropins "$T"
cp -a "$GEN_FIXTURES/drifted/root/." "$T/" # Intel host (cpuinfo, DMAR), iommu.conf: Profile=gpu-sriov
grep -qx 'Profile=gpu-sriov' "$T/etc/iommu/iommu.conf" || fail "fixture: iommu.conf does not select gpu-sriov"
cp -a "$T" "$TMP/node.before"
"$IOMMUCTL" apply --root "$T" --profile bare-metal > "$TMP/out" 2> "$TMP/err" || fail "apply --profile bare-metal: $(cat "$TMP/err")"
cat "$TMP/out" "$TMP/err"
grep -q "^created  /$SEL (selection)" "$TMP/out" || fail "apply did not list the selection file: $(cat "$TMP/out")"
grep -q "Selected profile bare-metal (was gpu-sriov, from $T/etc/iommu/iommu.conf), recorded in /$SEL" "$TMP/err" ||
        fail "apply did not say what it selected: $(cat "$TMP/err")"
grep -q "Profile=gpu-sriov in $T/etc/iommu/iommu.conf no longer applies" "$TMP/err" || fail "apply did not say what it overrides"
grep -qx 'Profile=bare-metal' "$T/$SEL" || fail "selection file lacks Profile=bare-metal: $(cat "$T/$SEL")"
! grep -q '^Vendor=' "$T/$SEL" || fail "selection recorded a vendor nobody asked for: $(cat "$T/$SEL")"
[ "$("$IOMMUCTL" profiles --root "$T" --selected)" = bare-metal ] || fail "profiles --selected does not report bare-metal"
cmp -s "$TMP/node.before/etc/iommu/iommu.conf" "$T/etc/iommu/iommu.conf" || fail "apply changed iommu.conf"

# The next boot runs the command line apply wrote: the generator starts nothing...
tokens=$("$IOMMUCTL" cmdline --root "$T")
[ "$tokens" = "intel_iommu=off iommu=off" ] || fail "cmdline does not follow the selection: $tokens"
grep -q "$tokens" "$T/etc/default/grub.d/60-iommu.cfg" || fail "the GRUB drop-in lacks $tokens"
boot_with "$T" "$tokens"
generator "$T"
[ -z "$gen_out" ] || fail "generator started something after apply --profile bare-metal: $gen_out ($gen_log)"
echo "ok: after apply --profile bare-metal the generator starts nothing"
# ...and without the recorded selection it would have undone the apply (the bug this fixes).
mv "$T/$SEL" "$TMP/sel.saved"
# (Issue 22.1: the node applied bare-metal, so a configured gpu-sriov alone arms nothing...)
generator "$T"
[ -z "$gen_out" ] || fail "control: gpu-sriov was never applied here, yet the generator acted: $gen_log"
# (...but where gpu-sriov had been applied, the generator would have reverted bare-metal.)
cp "$T/etc/iommu/applied" "$TMP/applied.saved"
echo gpu-sriov > "$T/etc/iommu/applied"
generator "$T"
[ -n "$gen_out" ] || fail "control: without the selection file the generator did not see the drift"
grep -q 'lacks the IOMMU tokens of profile gpu-sriov' <<< "$gen_log" || fail "control: generator log: $gen_log"
mv "$TMP/sel.saved" "$T/$SEL"
mv "$TMP/applied.saved" "$T/etc/iommu/applied"

# A drop-in written later does not win over the recorded selection; apply says so.
mkdir "$T/etc/iommu/iommu.conf.d"
printf '[IOMMU]\nProfile=strict\n' > "$T/etc/iommu/iommu.conf.d/50-fleet.conf"
[ "$("$IOMMUCTL" profiles --root "$T" --selected)" = bare-metal ] || fail "a drop-in won over the recorded selection"
"$IOMMUCTL" apply --root "$T" --profile generic > /dev/null 2> "$TMP/err" || fail "apply --profile generic: $(cat "$TMP/err")"
grep -q "Selected profile generic (was bare-metal, from $T/$SEL)" "$TMP/err" || fail "second apply: $(cat "$TMP/err")"
grep -q "Profile=strict in $T/etc/iommu/iommu.conf.d/50-fleet.conf no longer applies" "$TMP/err" ||
        fail "second apply did not name the overridden drop-in: $(cat "$TMP/err")"
rm "$T/etc/iommu/iommu.conf.d/50-fleet.conf"
rmdir "$T/etc/iommu/iommu.conf.d"

# rollback restores the previous selection byte for byte, then no selection at all.
cp "$T/$SEL" "$TMP/sel.generic"
"$IOMMUCTL" rollback --root "$T" > "$TMP/out" 2>&1 || fail "rollback: $(cat "$TMP/out")"
grep -q "^restored /$SEL (selection)" "$TMP/out" || fail "rollback did not restore the selection: $(cat "$TMP/out")"
grep -qx 'Profile=bare-metal' "$T/$SEL" || fail "rollback did not bring back bare-metal: $(cat "$T/$SEL")"
"$IOMMUCTL" rollback --root "$T" > "$TMP/out" 2>&1 || fail "second rollback: $(cat "$TMP/out")"
grep -q "^removed  /$SEL (selection)" "$TMP/out" || fail "second rollback did not remove the selection: $(cat "$TMP/out")"
cp -a "$TMP/node.before/proc/cmdline" "$T/proc/cmdline" # the booted command line is not apply's
same_tree "$TMP/node.before" "$T" || fail "two rollbacks did not restore the tree"
[ "$("$IOMMUCTL" profiles --root "$T" --selected)" = gpu-sriov ] || fail "after rollback iommu.conf does not decide again"
echo "ok: rollback restores the previous selection"

# apply without --profile or --vendor follows the configuration and records nothing.
"$IOMMUCTL" apply --root "$T" > "$TMP/out" 2> "$TMP/err" || fail "plain apply: $(cat "$TMP/err")"
[ ! -e "$T/$SEL" ] || fail "apply without --profile recorded a selection"

## 2. Image builds keep profile and vendor.
IMG="$TMP/img"
fresh systemd-boot-esp "$IMG"
"$IOMMUCTL" apply --root "$IMG" --vendor portable --profile bare-metal > "$TMP/out" 2> "$TMP/err" ||
        fail "image apply: $(cat "$TMP/err")"
grep -qx 'Profile=bare-metal' "$IMG/$SEL" && grep -qx 'Vendor=portable' "$IMG/$SEL" ||
        fail "the image does not know its profile and vendor: $(cat "$IMG/$SEL")"
[ ! -e "$IMG/var/lib/iommu/lock" ] || fail "apply --root left var/lib/iommu/lock in the image"
[ "$("$IOMMUCTL" profiles --root "$IMG" --selected)" = bare-metal ] || fail "image: profiles --selected"
# Booted on an Intel node: the portable line (amd_iommu=off included) is what the image wants.
cp -a "$GEN_FIXTURES/drifted/root/proc" "$GEN_FIXTURES/drifted/root/sys" "$IMG/"
boot_with "$IMG" "intel_iommu=off amd_iommu=off iommu=off"
generator "$IMG"
[ -z "$gen_out" ] || fail "generator on the image booted on Intel counts the portable line as drift: $gen_log"
# The lock stays on the live host's tree: a second apply under the root still serialises.
"$IOMMUCTL" apply --root "$IMG" --vendor portable --profile bare-metal > /dev/null 2> "$TMP/err" || fail "image re-apply"
grep -q 'Nothing to change' "$TMP/err" || fail "image re-apply changed something: $(cat "$TMP/err")"
[ ! -e "$IMG/var/lib/iommu/lock" ] || fail "a second apply --root left the lock file"
"$IOMMUCTL" rollback --root "$IMG" > /dev/null 2>&1 || fail "image rollback"
[ ! -e "$IMG/var/lib/iommu/lock" ] || fail "rollback --root left the lock file"
[ ! -e "$IMG/etc/iommu" ] || fail "rollback left etc/iommu behind in the image"
echo "ok: the image remembers profile and vendor, without the lock file"

## 4. A backend asked for and not there is an error, not "nothing to change".
B="$TMP/backend"
fresh debian-grub-dropins "$B"
cp -a "$B" "$TMP/backend.before"
for spec in "kernel-cmdline|/etc/kernel/cmdline" "bls|loader/entries/\*.conf in /boot, /efi or /boot/efi"; do
        backend=${spec%%|*}
        looked=${spec#*|}
        rc=0
        "$IOMMUCTL" apply --root "$B" --profile gpu-sriov --vendor intel --backend "$backend" --json > "$TMP/out" 2> "$TMP/err" || rc=$?
        [ $rc = 2 ] || fail "--backend $backend on a GRUB-only tree exited $rc: $(cat "$TMP/out" "$TMP/err")"
        grep -q "Backend $backend was asked for (--backend) but there is nothing of that kind under $B: looked for $looked" "$TMP/err" ||
                fail "--backend $backend: message does not say what was looked for: $(cat "$TMP/err")"
        same_tree "$TMP/backend.before" "$B" || fail "--backend $backend changed the tree"
        [ ! -e "$B/var" ] || fail "--backend $backend wrote a journal"
done
mkdir -p "$B/etc/iommu"
printf '[Apply]\nBackends=bls\n' > "$B/etc/iommu/iommu.conf"
rc=0
"$IOMMUCTL" apply --root "$B" --profile gpu-sriov --vendor intel 2> "$TMP/err" > /dev/null || rc=$?
[ $rc = 2 ] && grep -q "Backend bls was asked for (Backends= in \[Apply\])" "$TMP/err" || fail "Backends=bls: exit $rc: $(cat "$TMP/err")"
echo "ok: a backend asked for and not found exits 2"
echo OK
