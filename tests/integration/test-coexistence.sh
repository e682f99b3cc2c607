#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 11, item 6: another writer (rpm-ostree, grubby, tuned, an admin) put the profile's IOMMU
# tokens into the boot configuration in its own order, plus one token that changes nothing
# (iommu=on: not an x86 iommu= value). Judged by effect, that is the profile:
#   - apply changes no byte of the BLS entry, the GRUB defaults or /etc/kernel/cmdline;
#   - the generator pulls nothing into the boot;
#   - verify passes, with exactly one WARN, naming iommu=on and its fix.
# The tree is synthetic, derived from the captured qemu-intel-passthrough host (a real Debian 12
# boot with intel_iommu=on iommu=pt: identity groups): only proc/cmdline is replaced by the other
# writer's line, so the kernel's state stays what a real boot showed. Needs IOMMUCTL, GENERATOR,
# SRCDIR.

set -uo pipefail

iommuctl=${IOMMUCTL:?}
generator=${GENERATOR:?}
src=${SRCDIR:?}
export IOMMUCTL_PROFILES_PATH=$src/profiles
unset SYSTEMD_IN_INITRD SYSTEMD_LOG_LEVEL

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

root=$tmp/root
line='iommu=pt intel_iommu=on iommu=on'
cp -r "$src/tests/fixtures/hosts/qemu-intel-passthrough/root" "$root"
chmod -R u+w "$root"
echo "BOOT_IMAGE=/vmlinuz-6.1.0-56-amd64 root=/dev/vda1 ro quiet $line" >"$root/proc/cmdline"
mkdir -p "$root/boot/loader/entries" "$root/etc/default" "$root/etc/kernel" "$root/etc/iommu"
cat >"$root/boot/loader/entries/debian-6.1.0-56-amd64.conf" <<EOT
title      Debian GNU/Linux 12
version    6.1.0-56-amd64
linux      /vmlinuz-6.1.0-56-amd64
initrd     /initrd.img-6.1.0-56-amd64
options    root=/dev/vda1 ro quiet $line
EOT
cat >"$root/etc/default/grub" <<EOT
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 $line"
EOT
echo "root=/dev/vda1 ro quiet $line" >"$root/etc/kernel/cmdline"
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n' >"$root/etc/iommu/iommu.conf"

snapshot() { (cd "$root" && find boot etc -type f ! -path etc/iommu/applied -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot)

# plan --check agrees: in sync, order and the ignored token do not matter.
"$iommuctl" --root "$root" plan --check >"$tmp/plan" 2>&1
check "plan --check exits 0 ($(grep Status: "$tmp/plan"))" test $? -eq 0

"$iommuctl" --root "$root" apply --backend bls,grub,kernel-cmdline --no-bootloader-update >"$tmp/apply" 2>&1
rc=$?
check "apply exits 0" test $rc -eq 0
check "apply says there is nothing to change" grep -q "Nothing to change" "$tmp/apply"
check "apply changed no byte of the BLS entry, GRUB defaults, /etc/kernel/cmdline" test "$(snapshot)" = "$before"
# It records that the profile is applied here (which arms the generator), and nothing else.
check "apply recorded only that the profile is applied" test "$(cat "$root/etc/iommu/applied")" = gpu-sriov
check "a second apply records nothing" bash -c "'$iommuctl' --root '$root' apply --backend bls,grub,kernel-cmdline --no-bootloader-update >/dev/null 2>&1 && test \"\$(ls '$root/var/lib/iommu/changesets')\" = 00000001"

mkdir -p "$tmp/gen"/{normal,early,late}
IOMMU_GENERATOR_ROOT=$root "$generator" "$tmp/gen/normal" "$tmp/gen/early" "$tmp/gen/late" 2>"$tmp/gen.log" </dev/null
check "the generator exits 0" test $? -eq 0
check "the generator pulls nothing in ($(cat "$tmp/gen.log"))" test -z "$(find "$tmp/gen" -mindepth 2)"

"$iommuctl" --root "$root" verify --no-journal --json --kernel-log "$src/tests/fixtures/hosts/qemu-intel-passthrough/kmsg.txt" \
    >"$tmp/verify.json" 2>"$tmp/verify.err"
rc=$?
check "verify exits 0" test $rc -eq 0
warns=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(c["id"] for c in d["checks"] if c["result"] != "pass"))' "$tmp/verify.json")
check "verify has exactly one WARN, for iommu=on (non-pass checks: '$warns')" test "$warns" = "token:iommu=on"
check "the WARN's fix says to remove iommu=on" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=[c for c in d["checks"] if c["id"]=="token:iommu=on"][0]; sys.exit(0 if c["fix"].startswith("Remove iommu=on from the kernel command line") else 1)' "$tmp/verify.json"
check "verify's verdict is warn" python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["verdict"] == "warn" else 1)' "$tmp/verify.json"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
