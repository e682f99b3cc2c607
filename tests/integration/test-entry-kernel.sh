#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 21: status and lint judge each BLS entry with its own kernel (its "version", then
# ROOT/boot/config-VERSION), not the running one. Two entries with the same options, one for
# Debian 11's 5.10 and one for Debian 13's 6.12 (their build configurations are the captured
# ones of tests/fixtures/hosts), under the strict profile: "iommu=soft" changes nothing from 5.19
# on, but before it turns hardware IOMMU detection off, so only the 6.12 entry carries the
# profile; lint finds iommu.strict=1 ignored on the 5.10 entry only. Needs IOMMUCTL and SRCDIR.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
opts="root=/dev/sda1 ro intel_iommu=on iommu.passthrough=0 iommu.strict=1 iommu=soft"
mkdir -p "$r/boot/loader/entries" "$r/proc/sys/kernel" "$r/etc"
cp "$HOSTS/qemu-5.10-intel-default/root/boot/config-5.10.0-32-amd64" "$r/boot/"
cp "$HOSTS/qemu-6.12-intel-default/root/boot/config-6.12.117+deb13-amd64" "$r/boot/"
echo 6.12.117+deb13-amd64 >"$r/proc/sys/kernel/osrelease"
echo "BOOT_IMAGE=/vmlinuz-6.12.117+deb13-amd64 $opts" >"$r/proc/cmdline"
for v in 5.10.0-32-amd64 6.12.117+deb13-amd64; do
        printf 'title Debian %s\nversion %s\nlinux /vmlinuz-%s\noptions %s\n' "$v" "$v" "$v" "$opts" \
                >"$r/boot/loader/entries/debian-$v.conf"
done
printf 'default debian-6.12.117+deb13-amd64.conf\n' >"$r/boot/loader/loader.conf"

rc=0
out=$("$IOMMUCTL" status --json --root "$r" --profile strict --vendor intel 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "status: exit $rc: $out"
carries() {
        python3 -c 'import json, sys
d = json.loads(sys.argv[1])
for e in d["entries"]:
    if e.get("id") == sys.argv[2]:
        print("yes" if e["carries_profile"] else "no")' "$out" "$1"
}
[ "$(carries debian-6.12.117+deb13-amd64)" = yes ] || fail "status: the 6.12 entry should carry strict: $out"
[ "$(carries debian-5.10.0-32-amd64)" = no ] || fail "status: the 5.10 entry should not (iommu=soft before 5.19): $out"
ok "status judges each BLS entry with its own kernel (6.12 carries, 5.10 does not)"

# apply judges each entry the same way: it rewrites the 5.10 entry only (its iommu=soft goes), the
# 6.12 one stays byte for byte, and status then finds both carrying the profile.
cp "$r/boot/loader/entries/debian-6.12.117+deb13-amd64.conf" "$tmp/612.before"
rc=0
out=$("$IOMMUCTL" apply --root "$r" --profile strict --vendor intel 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "apply: exit $rc: $out"
cmp -s "$tmp/612.before" "$r/boot/loader/entries/debian-6.12.117+deb13-amd64.conf" || fail "apply rewrote the 6.12 entry: $out"
! grep -q 'iommu=soft' "$r/boot/loader/entries/debian-5.10.0-32-amd64.conf" || fail "apply left the 5.10 entry alone: $out"
out=$("$IOMMUCTL" status --json --root "$r" --profile strict --vendor intel 2>&1) || fail "status after apply: $out"
[ "$(carries debian-5.10.0-32-amd64)" = yes ] && [ "$(carries debian-6.12.117+deb13-amd64)" = yes ] \
        || fail "status after apply: both entries should carry: $out"
ok "apply judges each entry with its own kernel too: status and apply agree"

# lint of each entry file: iommu.strict=1 does not reach the x86 drivers before 5.15 (the 5.10
# entry), it does on the 6.12 one.
rc=0
out=$("$IOMMUCTL" lint --root "$r" --vendor intel "$r/boot/loader/entries/debian-5.10.0-32-amd64.conf" 2>&1) || rc=$?
[ "$rc" != 0 ] && grep -q 'error: iommu.strict=1 is ignored by the kernel: has no effect on x86 before 5.15' <<<"$out" \
        || fail "lint 5.10 entry: exit $rc: $out"
rc=0
out=$("$IOMMUCTL" lint --root "$r" --vendor intel "$r/boot/loader/entries/debian-6.12.117+deb13-amd64.conf" 2>&1) || rc=$?
! grep -q 'iommu.strict=1 is ignored' <<<"$out" || fail "lint 6.12 entry judged like 5.10: $out"
ok "lint judges each BLS entry with its own kernel"
finish
