#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 25: [PCI] LiftACSRedirect=gpu-paths. plan computes the narrowest token for the GPU paths of
# the synthetic HGX board (its 24 switch downstream ports, named by their one PCI ID) and the
# groups that merge; apply --dry-run writes that token into every boot backend; a port list that
# needs ';' is refused with the reason.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/profiles"
export IOMMUCTL_PROFILES_PATH=$tmp/profiles:$SRCDIR/profiles
hgx=$HOSTS/synthetic-hgx-h100/root
cat >"$tmp/profiles/gpu-direct.conf" <<'EOP'
[Profile]
Include=gpu-sriov
Description=GPUDirect nodes: passthrough, ACS redirect lifted on the GPU paths

[PCI]
LiftACSRedirect=gpu-paths
EOP

out=$("$IOMMUCTL" plan --profile gpu-direct --root "$hgx") || fail "plan: exit $?"
grep -qx 'ACS:      LiftACSRedirect=gpu-paths: pci=disable_acs_redir=pci:1000:c030' <<<"$out" || fail "plan: token: $out"
grep -q 'lifts redirect on the 24 ports of GPU paths: 0000:18:00.0 0000:18:01.0 0000:18:02.0 0000:28:00.0 ' <<<"$out" \
        || fail "plan: ports"
grep -qx '          merges 0000:18:01.0: groups 2 5 49 50 51 52 53 54 55 56' <<<"$out" || fail "plan: the NIC port's merge (NIC and its VFs)"
json=$("$IOMMUCTL" plan --json --profile gpu-direct --root "$hgx")
grep -q '"token": "pci=disable_acs_redir=pci:1000:c030"' <<<"$json" || fail "plan --json: acs_lift.token"
# From 6.11 the token is config_acs= keeping Source Validation and Upstream Forwarding.
out=$("$IOMMUCTL" plan --profile gpu-direct --root "$hgx" --kernel 6.12.57+deb13-amd64) || fail "plan 6.12: exit $?"
grep -qx 'ACS:      LiftACSRedirect=gpu-paths: pci=config_acs=100x1@pci:1000:c030' <<<"$out" || fail "plan 6.12: $out"
# Without GPUs there is nothing to lift, and plan says why.
out=$("$IOMMUCTL" plan --profile gpu-direct --root "$HOSTS/qemu-acs-intel-passthrough/root") || fail "plan qemu: exit $?"
grep -q 'LiftACSRedirect=gpu-paths: no token (no GPU on this node)' <<<"$out" || fail "plan qemu: $out"
# verify judges by the profile's intent: redirect still on the GPU paths.
rc=0
out=$("$IOMMUCTL" verify --no-journal --profile gpu-direct --root "$hgx" 2>&1) || rc=$?
grep -q '^WARN  p2p .*ACS still redirects GPU peer-to-peer at 0000:18:00.0' <<<"$out" || fail "verify: p2p WARN: $out"
# A profile without VFIO (bare-metal): the redirect on GPU paths is a WARN whose fix is that token.
rc=0
out=$("$IOMMUCTL" verify --no-journal --profile bare-metal --root "$hgx" 2>&1) || rc=$?
grep -q '^WARN  p2p .*ACS redirects GPU peer-to-peer at 0000:18:00.0 .*although the IOMMU is off' <<<"$out" \
        && grep -q "LiftACSRedirect=gpu-paths to the profile and its token pci=disable_acs_redir=pci:1000:c030" <<<"$out" \
        || fail "verify bare-metal: p2p WARN and its fix: $out"
ok "plan computes the narrowest pci= token and the groups that merge"

# The token in the profile's line: apply --dry-run writes it into every backend.
cat >"$tmp/profiles/gpu-direct-lifted.conf" <<'EOP'
[Profile]
Include=gpu-direct

[KernelArgs]
Intel=intel_iommu=on iommu=pt pci=disable_acs_redir=pci:1000:c030
AMD=iommu=pt pci=disable_acs_redir=pci:1000:c030
ARM64=iommu.passthrough=1 pci=disable_acs_redir=pci:1000:c030
Portable=intel_iommu=on iommu=pt pci=disable_acs_redir=pci:1000:c030
EOP
n=0
for dir in "$SRCDIR"/tests/fixtures/boot/*/; do
        name=$(basename "$dir")
        read -r -a args <"$dir/args"
        vendor=
        for ((i = 0; i < ${#args[@]}; i++)); do
                [ "${args[i]}" != --vendor ] || vendor=${args[i + 1]}
        done
        cp -a "$dir/input" "$tmp/$name"
        "$IOMMUCTL" apply --root "$tmp/$name" --profile gpu-direct-lifted --vendor "$vendor" --dry-run >"$tmp/diff" 2>"$tmp/err" \
                || fail "$name: apply --dry-run: $(cat "$tmp/err")"
        grep -q '^+.*pci=disable_acs_redir=pci:1000:c030' "$tmp/diff" || fail "$name: the token is not written: $(cat "$tmp/diff")"
        n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "want the boot fixtures (grub, bls, kernel-install, rhel), found $n"
ok "apply --dry-run writes the token into the $n boot backends"

# Several ports that no PCI ID names alone would need ';': refused before anything is written.
cat >"$tmp/profiles/semicolon.conf" <<'EOP'
[Profile]
Include=gpu-sriov

[KernelArgs]
Intel=intel_iommu=on iommu=pt pci=disable_acs_redir=0000:18:00.0;0000:18:01.0
EOP
rc=0
out=$("$IOMMUCTL" plan --profile semicolon --root "$hgx" 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "contains ';'" <<<"$out" || fail "';' in a token: exit $rc: $out"
ok "a port list with ';' is refused with the reason"
finish
