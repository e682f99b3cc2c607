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
out0=$out
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

# The token is the profile's own (computed by plan.c from the tree, never copied into [KernelArgs]):
# plan lists it as an addition, status and verify's cmdline check want it, and the boot trees get it.
grep -q '^  + pci=disable_acs_redir=pci:1000:c030 .*lifts ACS P2P redirect' <<<"$out0" || fail "plan: the token is a planned addition: $out0"
grep -q '^Planned: .* intel_iommu=on iommu=pt pci=disable_acs_redir=pci:1000:c030$' <<<"$out0" || fail "plan: planned line: $out0"
out=$("$IOMMUCTL" cmdline --profile gpu-direct --root "$hgx") || fail "cmdline: exit $?"
[ "$out" = "intel_iommu=on iommu=pt pci=disable_acs_redir=pci:1000:c030" ] || fail "cmdline: $out"
rc=0
out=$("$IOMMUCTL" verify --no-journal --profile gpu-direct --root "$hgx" 2>&1) || rc=$?
grep -q "^WARN  cmdline .*its ACS lift differs: it has no ACS lift, the profile asks for pci=disable_acs_redir=pci:1000:c030" <<<"$out" || fail "verify: cmdline wants the token: $out"
ok "the computed token is part of the profile's line for plan, cmdline and verify"

# The same node booted with the token (the ports' redirect bits cleared, as the kernel does): the
# token stays the same, and the line is in sync for plan --check and verify.
# lift_bits ROOT: the HGX switch ports' ACS Control as a kernel booted with the lift leaves it
# (RR and CR cleared).
lift_bits() {
python3 - "$1"/sys/bus/pci/devices/0000:[1-8]8:0[012].0/config <<'EOPY'
import sys
for p in sys.argv[1:]:
    b = bytearray(open(p, 'rb').read())
    off = 0x100
    while off:
        hdr = int.from_bytes(b[off:off + 4], 'little')
        if hdr & 0xffff == 0x000d:  # ACS: control at +6; clear RR (bit 2) and CR (bit 3)
            ctrl = int.from_bytes(b[off + 6:off + 8], 'little') & ~0x000c
            b[off + 6:off + 8] = ctrl.to_bytes(2, 'little')
            break
        off = hdr >> 20
    open(p, 'wb').write(b)
EOPY
}
booted=$tmp/booted
cp -a "$hgx" "$booted"
sed -i 's/$/ pci=disable_acs_redir=pci:1000:c030/' "$booted/proc/cmdline"
lift_bits "$booted"
"$IOMMUCTL" plan --check --profile gpu-direct --root "$booted" >"$tmp/out" 2>&1 || fail "plan --check on the booted node: $(cat "$tmp/out")"
grep -qx 'ACS:      LiftACSRedirect=gpu-paths: pci=disable_acs_redir=pci:1000:c030' "$tmp/out" || fail "booted: token: $(cat "$tmp/out")"
rc=0
out=$("$IOMMUCTL" verify --no-journal --profile gpu-direct --root "$booted" 2>&1) || rc=$?
grep -q '^PASS  cmdline ' <<<"$out" && grep -q '^PASS  p2p ' <<<"$out" || fail "verify on the booted node: $out"
ok "once booted, the token is the same and the node is in sync"

# apply --dry-run on the HGX tree with each boot fixture's files: the computed token goes into
# every backend (BLS entries, GRUB defaults, /etc/kernel/cmdline).
cp -a "$hgx" "$tmp/base"
n=0
for dir in "$SRCDIR"/tests/fixtures/boot/*/; do
        name=$(basename "$dir")
        read -r -a args <"$dir/args"
        vendor=
        for ((i = 0; i < ${#args[@]}; i++)); do
                [ "${args[i]}" != --vendor ] || vendor=${args[i + 1]}
        done
        cp -al "$tmp/base" "$tmp/hgx-$name" # links to a private copy: apply writes by rename
        rm -r "$tmp/hgx-$name/boot"
        cp -a "$dir/input/." "$tmp/hgx-$name/"
        "$IOMMUCTL" apply --root "$tmp/hgx-$name" --profile gpu-direct --vendor "$vendor" --dry-run >"$tmp/diff" 2>"$tmp/err" \
                || fail "hgx-$name: apply --dry-run: $(cat "$tmp/err")"
        grep -q '^+.*[ "]pci=disable_acs_redir=pci:1000:c030\b' "$tmp/diff" || fail "hgx-$name: the computed token is not written: $(cat "$tmp/diff")"
        n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "want the boot fixtures (grub, bls, kernel-install, rhel), found $n"
ok "apply --dry-run writes the computed token into the $n boot backends of the HGX tree"

# Written for real into GRUB defaults, a real sh (dash) reading them as grub-mkconfig does gives the
# token back byte for byte; from 6.11 the token carries '@' (config_acs=), which GRUB's and sh's
# lexers read as a word character.
for kernel in "" 6.12.57+deb13-amd64; do
        want=pci=disable_acs_redir=pci:1000:c030
        [ -z "$kernel" ] || want=pci=config_acs=100x1@pci:1000:c030
        t=$tmp/grub-real-${kernel:-default}
        cp -al "$tmp/base" "$t"
        rm -r "$t/boot"
        cp -a "$SRCDIR/tests/fixtures/boot/debian-grub-dropins/input/." "$t/"
        "$IOMMUCTL" apply --root "$t" --profile gpu-direct --vendor intel --no-bootloader-update ${kernel:+--kernel "$kernel"} \
                >"$tmp/out" 2>&1 || fail "apply ${kernel:-default}: $(cat "$tmp/out")"
        words=$(cd "$t" && dash -c 'for f in etc/default/grub etc/default/grub.d/*.cfg; do . "./$f"; done
                                    printf "%s\n" $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT')
        grep -qxF "$want" <<<"$words" || fail "dash sourcing /etc/default/grub (${kernel:-default}): $want not a word of: $words"
        # The linux line grub-mkconfig's 10_linux writes from them (grub-common, .ci/packages.txt).
        printf 'linux /vmlinuz root=/dev/sda1 ro %s\n' "$(tr '\n' ' ' <<<"$words")" >"$tmp/grub.cfg"
        grub-script-check "$tmp/grub.cfg" || fail "grub-script-check rejects the line: $(cat "$tmp/grub.cfg")"
done
ok "dash gives the written token back byte for byte (disable_acs_redir= and config_acs=...@)"

# Ownership by option, written for real into BLS entries: status agrees with apply; the operator's
# pci=noaer merged into the lift's token survives a switch to a profile without the lift and undo.
t=$tmp/bls-real
cp -al "$tmp/base" "$t"
rm -r "$t/boot"
cp -a "$SRCDIR/tests/fixtures/boot/systemd-boot-esp/input/." "$t/"
"$IOMMUCTL" apply --root "$t" --profile gpu-direct --vendor intel >"$tmp/out" 2>&1 || fail "apply gpu-direct: $(cat "$tmp/out")"
"$IOMMUCTL" status --check --root "$t" --profile gpu-direct --vendor intel >"$tmp/out" 2>&1 || fail "status after apply: $(cat "$tmp/out")"
entries=("$t"/efi/loader/entries/*.conf)
grep -q '^options .* pci=disable_acs_redir=pci:1000:c030' "${entries[@]}" || fail "apply: entries lack the lift"
sed -i 's/ pci=disable_acs_redir=pci:1000:c030/ pci=noaer,disable_acs_redir=pci:1000:c030/' "${entries[@]}"
"$IOMMUCTL" status --check --root "$t" --profile gpu-direct --vendor intel >"$tmp/out" 2>&1 \
        || fail "status: the lift inside the operator's pci= token carries the profile: $(cat "$tmp/out")"
"$IOMMUCTL" apply --root "$t" --profile gpu-sriov --vendor intel >"$tmp/out" 2>&1 || fail "apply gpu-sriov: $(cat "$tmp/out")"
grep -q '^options .* pci=noaer\( \|$\)' "${entries[@]}" && ! grep -q 'disable_acs_redir' "${entries[@]}" \
        || fail "profile switch: want pci=noaer kept and the lift gone: $(grep -h ^options "${entries[@]}")"
"$IOMMUCTL" apply --root "$t" --profile gpu-direct --vendor intel >"$tmp/out" 2>&1 || fail "apply gpu-direct again: $(cat "$tmp/out")"
"$IOMMUCTL" undo --root "$t" >"$tmp/out" 2>&1 || fail "undo: $(cat "$tmp/out")"
grep -q '^options .* pci=noaer\( \|$\)' "${entries[@]}" && ! grep -q 'disable_acs_redir\|iommu' "${entries[@]}" \
        || fail "undo: want pci=noaer kept, the lift and the IOMMU tokens gone: $(grep -h ^options "${entries[@]}")"
ok "apply, status, a profile switch and undo own only the lift inside pci=, never pci=noaer"

# The generator, on that node armed for gpu-direct: booted without the lift it drifts and names the
# token; booted with it (ports cleared, token on /proc/cmdline) it is in sync.
g=$tmp/gen
cp -a "$hgx" "$g"
rm -r "$g/boot"
cp -a "$SRCDIR/tests/fixtures/boot/systemd-boot-esp/input/." "$g/"
mkdir -p "$g/etc/iommu"
printf '[IOMMU]\nProfile=gpu-direct\nVendor=intel\n' >"$g/etc/iommu/iommu.conf"
"$IOMMUCTL" apply --root "$g" >"$tmp/out" 2>&1 || fail "apply on the generator's tree: $(cat "$tmp/out")"
generate() {
        rm -rf "$tmp/units" && mkdir -p "$tmp/units"/{normal,early,late}
        IOMMU_GENERATOR_ROOT=$g "$IOMMU_GENERATOR" "$tmp/units/normal" "$tmp/units/early" "$tmp/units/late" 2>"$tmp/log" </dev/null
        wants=$(find "$tmp/units" -name 'iommu-apply.service' | wc -l)
}
generate
[ "$wants" -gt 0 ] && grep -q 'pci=disable_acs_redir=pci:1000:c030' "$tmp/log" \
        || fail "generator without the lift booted: want iommu-apply.service and the token named: $(cat "$tmp/log")"
echo "$(cat "$hgx/proc/cmdline") pci=disable_acs_redir=pci:1000:c030" >"$g/proc/cmdline"
lift_bits "$g"
generate
[ "$wants" = 0 ] || fail "generator with the lift booted: want nothing started: $(cat "$tmp/log")"
ok "the generator's drift decision wants the computed token, and is in sync once it is booted"

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
