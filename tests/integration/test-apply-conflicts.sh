#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 21.5: apply prints the intent conflicts as plan does (what breaks, the evidence, the profile
# that fits) and refuses to write a mode that breaks what the node uses, unless --force. The host
# is the synthetic SEV-SNP one (kvm_amd's sev_snp=Y, the CPU's sev_snp flag) with a RHEL 9 boot
# tree. Needs IOMMUCTL and SRCDIR.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
cp -a "$HOSTS/synthetic-amd-snp/root" "$r"
cp -a "$SRCDIR/tests/fixtures/boot/rhel9-bls-grub/input/." "$r/"
sums() { (cd "$r" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
sums >"$tmp/before"

rc=0
plan=$("$IOMMUCTL" plan --root "$r" --profile gpu-sriov --vendor amd 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "plan: exit $rc: $plan"
want='Profile gpu-sriov: Mode=passthrough breaks SEV-SNP on this host (kvm_amd'"'"'s sev_snp parameter'
grep -qF "$want" <<<"$plan" && grep -q 'profile lazy fits$' <<<"$plan" || fail "plan: the SNP conflict: $plan"

for dry in --dry-run ""; do
        rc=0
        out=$("$IOMMUCTL" apply $dry --root "$r" --profile gpu-sriov --vendor amd 2>&1) || rc=$?
        [ "$rc" = 2 ] || fail "apply $dry: exit $rc, want 2: $out"
        grep -qF "$want" <<<"$out" || fail "apply $dry: the conflict as plan prints it: $out"
        grep -q 'Refusing to write profile gpu-sriov: .* Profile lazy fits this node. Pass --force' <<<"$out" \
                || fail "apply $dry: the refusal: $out"
        ! grep -q '^+' <<<"$out" || fail "apply $dry: printed a change although it refused: $out"
done
sums >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "a refused apply changed files: $(diff "$tmp/before" "$tmp/after")"
ok "apply prints the SNP conflict as plan does and refuses (exit 2), nothing written"

rc=0
out=$("$IOMMUCTL" apply --force --root "$r" --profile gpu-sriov --vendor amd --no-bootloader-update 2>&1) || rc=$?
[ "$rc" = 0 ] && grep -qF "$want" <<<"$out" && grep -q 'anyway (--force)' <<<"$out" || fail "apply --force: exit $rc: $out"
grep -q '^options .*iommu=pt' "$r"/boot/loader/entries/*.conf || fail "apply --force: the entries lack iommu=pt"
# The profile that fits has no conflict: written without --force.
rc=0
out=$("$IOMMUCTL" apply --root "$r" --profile lazy --vendor amd --no-bootloader-update 2>&1) || rc=$?
[ "$rc" = 0 ] && ! grep -q 'breaks' <<<"$out" || fail "apply lazy: exit $rc: $out"
ok "apply --force writes it with the warning; the fitting profile needs no --force"
finish
