#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 19.3: one judgement whether a line carries the profile, passed to every caller. Entries
# that carry intel_iommu=on iommu=pt amd_iommu=off on Intel do what gpu-sriov does (amd_iommu=off
# changes nothing on Intel): apply leaves them alone and status --check passes, both from the same
# judgement. Needs IOMMUCTL and SRCDIR.
. "$(dirname "$0")/apply-lib.sh"

IMG="$TMP/img"
fresh systemd-boot-esp "$IMG"
for f in "$IMG"/efi/loader/entries/*.conf; do
        sed -i 's/amd_iommu=off$/intel_iommu=on iommu=pt amd_iommu=off/' "$f"
        grep -q 'intel_iommu=on iommu=pt amd_iommu=off$' "$f" || fail "fixture changed: $f"
done
echo "root=UUID=4e1f6c0a-6d2b-4c4e-9a51-1f0c2b7d3e99 rw quiet splash intel_iommu=on iommu=pt amd_iommu=off" > "$IMG/etc/kernel/cmdline"
mkdir -p "$IMG/etc/iommu"
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n' > "$IMG/etc/iommu/iommu.conf"
cp -a "$IMG" "$TMP/before"

out=$("$IOMMUCTL" apply --root "$IMG" --dry-run 2>&1) || fail "apply --dry-run failed: $out"
grep -q 'Nothing to change' <<< "$out" || fail "apply --dry-run would change something: $out"
same_tree "$TMP/before" "$IMG" || fail "apply --dry-run changed the tree"
echo "ok: apply --dry-run changes no boot file"

rc=0
out=$("$IOMMUCTL" status --root "$IMG" --check 2>&1) || rc=$?
[ $rc = 0 ] || fail "status --check exited $rc on entries that do what the profile does: $out"
grep -q 'carries the profile' <<< "$out" || fail "status does not say the next boot carries the profile: $out"
echo "ok: status --check exits 0"

# A real apply agrees: no boot file written, only the record that the profile is applied here.
out=$("$IOMMUCTL" apply --root "$IMG" 2>&1) || fail "apply failed: $out"
grep -q 'Nothing to change' <<< "$out" || fail "apply changed something: $out"
diff -r -x var -x applied "$TMP/before" "$IMG" || fail "apply changed a boot file"

# On AMD the same entries lack the profile's effect (amd_iommu=off turns the IOMMU off): both say so.
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=amd\n' > "$IMG/etc/iommu/iommu.conf"
rc=0
out=$("$IOMMUCTL" status --root "$IMG" --check 2>&1) || rc=$?
[ $rc = 1 ] || fail "status --check exited $rc for AMD, where amd_iommu=off matters: $out"
out=$("$IOMMUCTL" apply --root "$IMG" --dry-run 2>&1) || fail "apply --dry-run (AMD) failed: $out"
grep -q -- '^-options.*intel_iommu=on iommu=pt amd_iommu=off' <<< "$out" || fail "apply --dry-run (AMD) changes nothing: $out"
echo "ok: on AMD both status and apply see the drift"
