#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# apply --reboot: reboots into a committed change, only when asked ([Apply] Reboot=yes with
# --reboot=config, as iommu-apply.service runs it), never for a run that changed nothing, and not
# again when the previous boot already rebooted for the same tokens and the kernel still lacks them
# (the boot loader ignores what was written: another reboot would loop). IOMMUCTL_REBOOT_COMMAND
# stands in for "systemctl reboot".
. "$(dirname "$0")/apply-lib.sh"
root="$TMP/root"
args=(--profile gpu-sriov --vendor intel --backend bls)
export IOMMUCTL_REBOOT_COMMAND="touch $TMP/rebooted"
rebooted() { [ -e "$TMP/rebooted" ]; }

fresh rhel9-bls-grub "$root"
mkdir -p "$root/proc" "$root/etc/iommu"
echo "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro" > "$root/proc/cmdline"

# Reboot=no (the default): --reboot=config changes the entries and does not reboot.
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=config > /dev/null 2>&1 || fail "apply failed"
rebooted && fail "rebooted although Reboot= is not set"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"

# Reboot=yes: reboots after the change, and records for which tokens.
printf '[Apply]\nReboot=yes\n' > "$root/etc/iommu/iommu.conf"
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=config > /dev/null 2> "$TMP/err" || fail "apply failed: $(cat "$TMP/err")"
rebooted || fail "Reboot=yes did not reboot"
grep -qx "intel_iommu=on iommu=pt" "$root/var/lib/iommu/reboot-requested" || fail "no reboot stamp"
rm "$TMP/rebooted"

# Nothing to change: no reboot.
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=config > /dev/null 2>&1 || fail "second apply failed"
rebooted && fail "rebooted although nothing changed"

# Only the recorded selection changes (gpu-sriov's portable line is its Intel line): no reboot.
"$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor portable --backend bls --reboot=config > "$TMP/out" 2>&1 ||
        fail "selection-only apply failed: $(cat "$TMP/out")"
grep -q '^modified /etc/iommu/selection (selection)' "$TMP/out" || fail "selection-only apply: $(cat "$TMP/out")"
[ "$(grep -c '^modified\|^created' "$TMP/out")" = 1 ] || fail "selection-only apply changed more: $(cat "$TMP/out")"
rebooted && fail "rebooted for a change of the selection alone"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback of the selection failed"

# The "next boot" still runs without the tokens and the files were reverted behind our back: the
# change is written again, but there is no second reboot for the same tokens.
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"
rc=0
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=config > /dev/null 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "looping reboot: exit $rc"
rebooted && fail "rebooted a second time for the same tokens"
grep -q "Not rebooting: the previous boot already rebooted" "$TMP/err" || fail "no loop message: $(cat "$TMP/err")"

# Once the kernel runs with the tokens, a later change for them may reboot again.
echo "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro intel_iommu=on iommu=pt" > "$root/proc/cmdline"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=yes > /dev/null 2>&1 || fail "apply --reboot=yes failed"
rebooted || fail "--reboot=yes did not reboot"
rm "$TMP/rebooted"

# --reboot is for the running host: without the test seam it refuses --root.
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"
rc=0
env -u IOMMUCTL_REBOOT_COMMAND "$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=yes > /dev/null 2> "$TMP/err" || rc=$?
[ $rc = 2 ] && grep -q "applies to the running host" "$TMP/err" || fail "--reboot with --root: exit $rc: $(cat "$TMP/err")"
echo "ok: apply --reboot reboots once per change and never loops"
