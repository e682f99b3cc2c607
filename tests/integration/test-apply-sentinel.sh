#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# [Apply] RebootSentinel=: a committed change (apply or rollback) leaves the sentinel under the root
# instead of rebooting, so kured does the cordon/drain/reboot; a run that changed nothing does not;
# a sentinel already there is left as it was; it wins over Reboot=yes (--reboot=yes still
# reboots); verify removes nothing of it; paths a reboot would not clear are refused with file:line.
. "$(dirname "$0")/apply-lib.sh"
root="$TMP/root"
args=(--profile gpu-sriov --vendor intel --backend bls)
sentinel="$root/var/run/reboot-required"
export IOMMUCTL_REBOOT_COMMAND="touch $TMP/rebooted"
rebooted() { [ -e "$TMP/rebooted" ]; }

# A systemd-boot tree plus a captured Intel VT-d host already running gpu-sriov (for verify).
fresh systemd-boot-esp "$root"
cp -a "$SRCDIR/tests/fixtures/hosts/qemu-intel-efi-passthrough/root/." "$root/"
mkdir -p "$root/etc/iommu"
printf '[Apply]\nRebootSentinel=/var/run/reboot-required\n' > "$root/etc/iommu/iommu.conf"

[ "$("$IOMMUCTL" --root "$root" config Apply.RebootSentinel)" = /var/run/reboot-required ] || fail "config does not show RebootSentinel="

# A committed change: the sentinel, no reboot.
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2> "$TMP/err" || fail "apply failed: $(cat "$TMP/err")"
[ -f "$sentinel" ] || fail "no sentinel after a committed change"
grep -qx '\*\*\* System restart required \*\*\*' "$sentinel" || fail "sentinel text: $(cat "$sentinel")"
grep -q "Created /var/run/reboot-required" "$TMP/err" || fail "no notice about the sentinel: $(cat "$TMP/err")"
rebooted && fail "rebooted although RebootSentinel= is set"
grep -rq "intel_iommu=on iommu=pt" "$root/efi/loader/entries/" || fail "the entry was not changed"

# Nothing to change: no sentinel (kured removed it with the reboot; it must not come back).
rm "$sentinel"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "second apply failed"
[ -e "$sentinel" ] && fail "sentinel written although nothing changed"

# A dry run writes no sentinel either.
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"
rm -f "$sentinel"
"$IOMMUCTL" apply --root "$root" "${args[@]}" --dry-run > /dev/null 2>&1 || fail "dry run failed"
[ -e "$sentinel" ] && fail "sentinel written by a dry run"

# Someone else's sentinel (unattended-upgrades) is left as it was.
mkdir -p "$(dirname "$sentinel")"
echo "from another package" > "$sentinel"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "apply over an existing sentinel failed"
[ "$(cat "$sentinel")" = "from another package" ] || fail "an existing sentinel was rewritten: $(cat "$sentinel")"

# verify removes nothing kured owns (the sentinel, whatever is beside it) and publishes the labels.
echo pkg > "$sentinel.pkgs"
printf '[IOMMU]\nProfile=gpu-sriov\n[Apply]\nRebootSentinel=/var/run/reboot-required\n[Publish]\nNodeFeatureDiscovery=yes\n' > "$root/etc/iommu/iommu.conf"
rc=0
"$IOMMUCTL" verify --boot-check --root "$root" --no-journal \
        --kernel-log "$SRCDIR/tests/fixtures/hosts/qemu-intel-efi-passthrough/kmsg.txt" > "$TMP/verify" 2>&1 || rc=$?
[ $rc = 0 ] || fail "verify: exit $rc: $(cat "$TMP/verify")"
[ "$(cat "$sentinel")" = "from another package" ] && [ -f "$sentinel.pkgs" ] || fail "verify touched the sentinel"
grep -qx "feature.node.kubernetes.io/iommu.verified=true" "$root/etc/kubernetes/node-feature-discovery/features.d/iommu" ||
        fail "verify did not publish iommu.verified=true"

# A rollback is a committed change too.
rm -f "$sentinel"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"
[ -f "$sentinel" ] || fail "no sentinel after a rollback"

# RebootSentinel= wins over Reboot=yes with --reboot=config; --reboot=yes still reboots.
rm -f "$sentinel"
printf '[Apply]\nReboot=yes\nRebootSentinel=/run/reboot-required\n' > "$root/etc/iommu/iommu.conf"
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=config > /dev/null 2> "$TMP/err" || fail "apply --reboot=config failed"
rebooted && fail "Reboot=yes rebooted although RebootSentinel= is set"
[ -f "$root/run/reboot-required" ] || fail "no sentinel under /run"
grep -q "Not rebooting although Reboot=yes" "$TMP/err" || fail "precedence not explained: $(cat "$TMP/err")"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback failed"
"$IOMMUCTL" apply --root "$root" "${args[@]}" --reboot=yes > /dev/null 2>&1 || fail "apply --reboot=yes failed"
rebooted || fail "--reboot=yes did not reboot with RebootSentinel= set"

# Paths a reboot does not clear, or not normalized, are refused with file and line.
for bad in /var/lib/reboot-required /run /run/ /run/../etc/passwd /run//x /run/./x relative/x /run/x/; do
        printf '[Apply]\n\nRebootSentinel=%s\n' "$bad" > "$root/etc/iommu/iommu.conf"
        rc=0
        "$IOMMUCTL" apply --root "$root" "${args[@]}" --dry-run > /dev/null 2> "$TMP/err" || rc=$?
        [ $rc = 2 ] || fail "RebootSentinel=$bad: exit $rc"
        grep -q "iommu.conf:3: RebootSentinel=$bad is not a normalized absolute path under /run or /var/run" "$TMP/err" ||
                fail "RebootSentinel=$bad: $(cat "$TMP/err")"
done
echo "ok: RebootSentinel= leaves the reboot to kured, once per committed change"
