#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iommuctl recommend on the fixture trees and on trees made from them: the profile chosen, the
# evidence for each reason (text and --json), and that nothing under the root is written.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

recommend() { # recommend ROOT ARGS...: sets $out and $rc
        local root=$1
        shift
        rc=0
        out=$("$IOMMUCTL" recommend --root "$root" "$@" 2>"$tmp/err") || rc=$?
}
# json_is ROOT PYTHON-EXPR: the --json output, d, satisfies the expression
json_is() {
        recommend "$1" --json
        [ "$rc" -eq 0 ] || { fail "$1: recommend --json exit $rc: $(cat "$tmp/err")"; return 1; }
        python3 -c "import json,sys; d=json.load(sys.stdin); r={x['fact']: x for x in d['reasons']}; assert $2, d" <<<"$out" \
                || { fail "$1: --json does not satisfy $2"; return 1; }
}

# The HGX node: 8 GPUs, SR-IOV NICs with VFs in use -> gpu-sriov, with the devices as evidence.
hgx=$HOSTS/synthetic-hgx-h100/root
recommend "$hgx"
[ "$rc" -eq 0 ] || fail "hgx: exit $rc"
grep -q '^Recommended profile: gpu-sriov ' <<<"$out" || fail "hgx: $out"
[ "$(grep -c '10de:2330 (3D controller)' <<<"$out")" -eq 8 ] || fail "hgx: the 8 GPUs are not the evidence"
grep -q '^+ sriov-pf' <<<"$out" && grep -q '0000:1a:00.0 15b3:1021: sriov_totalvfs 64' <<<"$out" || fail "hgx: SR-IOV evidence"
grep -q '^+ sriov-vfs-in-use' <<<"$out" || fail "hgx: VFs in use"
grep -q "^  gpu-p2p-redirected" <<<"$out" && grep -q "0000:19:00.0 - 0000:1a:00.0 (InfiniBand controller): PIX, redirected at 0000:18:00.0 and 0000:18:01.0" <<<"$out" \
        || fail "hgx: recommend weighs the GPU-NIC path (PIX, ACS redirect)"
json_is "$hgx" 'd["version"] == 1 and d["profile"] == "gpu-sriov" and d["mode"] == "passthrough" and d["facts"]["gpu"] and r["gpu"]["decides"] and len(r["gpu"]["evidence"]) == 8 and d["reasons"][0]["points_to"] == "gpu-sriov"' \
        && ok "HGX H100 node: gpu-sriov, GPUs and SR-IOV as evidence"

# A VM without a virtual IOMMU (captured under QEMU): bare-metal, and why.
none=$HOSTS/qemu-none/root
json_is "$none" 'd["profile"] == "bare-metal" and d["reasons"][0]["fact"] == "virtual-machine" and "virtual IOMMU" in d["reasons"][0]["why"]' \
        && ok "VM without a virtual IOMMU: bare-metal"

# The AMD node turned into a SEV-SNP host: strict beats the GPU (SNP needs translated DMA).
cp -a "$HOSTS/synthetic-amd-strict/root" "$tmp/snp"
mkdir -p "$tmp/snp/sys/module/kvm_amd/parameters"
echo Y >"$tmp/snp/sys/module/kvm_amd/parameters/sev_snp"
echo 1 >"$tmp/snp/sys/module/kvm_amd/refcnt"
json_is "$tmp/snp" 'd["profile"] == "strict" and d["reasons"][0]["fact"] == "confidential-computing" and not r["gpu"]["decides"] and r["kvm"]["evidence"] == ["module kvm_amd loaded (refcnt 1)"]' \
        && ok "SEV-SNP host: strict, the GPU outweighed"

# A workstation: one PCI bridge marked external_facing and a Thunderbolt domain -> strict.
ws=$tmp/ws
mkdir -p "$ws/sys/kernel" "$ws/sys/bus/pci/devices/0000:00:07.0" "$ws/sys/bus/thunderbolt/devices/domain0" "$ws/sys/bus/thunderbolt/devices/0-0"
printf '0x8086\n' >"$ws/sys/bus/pci/devices/0000:00:07.0/vendor"
printf '0x7ec4\n' >"$ws/sys/bus/pci/devices/0000:00:07.0/device"
printf '0x060400\n' >"$ws/sys/bus/pci/devices/0000:00:07.0/class"
echo 1 >"$ws/sys/bus/pci/devices/0000:00:07.0/external_facing"
json_is "$ws" 'd["profile"] == "strict" and r["external-ports"]["decides"] and any("external_facing 1" in e for e in r["external-ports"]["evidence"]) and any("thunderbolt" in e for e in r["external-ports"]["evidence"])' \
        && ok "external-facing port and Thunderbolt: strict"

# A device bound to vfio-pci decides alone.
vf=$tmp/vfio
mkdir -p "$vf/sys/kernel" "$vf/sys/bus/pci/devices/0000:03:00.0" "$vf/sys/bus/pci/drivers/vfio-pci"
printf '0x8086\n0x10fb\n0x020000\n' | { read -r v; read -r dv; read -r c; echo "$v" >"$vf/sys/bus/pci/devices/0000:03:00.0/vendor"
        echo "$dv" >"$vf/sys/bus/pci/devices/0000:03:00.0/device"; echo "$c" >"$vf/sys/bus/pci/devices/0000:03:00.0/class"; }
ln -s ../../bus/pci/drivers/vfio-pci "$vf/sys/bus/pci/devices/0000:03:00.0/driver"
json_is "$vf" 'd["profile"] == "gpu-sriov" and r["vfio-bound"]["evidence"] == ["0000:03:00.0 8086:10fb: driver vfio-pci"]' \
        && ok "vfio-pci device: gpu-sriov"

# Nothing in any of these trees was written.
for root in "$tmp/snp" "$ws" "$vf"; do
        before=$(find "$root" -printf '%p %s %T@\n' | sort | sha256sum)
        recommend "$root" >/dev/null
        recommend "$root" --json >/dev/null
        after=$(find "$root" -printf '%p %s %T@\n' | sort | sha256sum)
        [ "$before" = "$after" ] || fail "recommend changed $root"
done
ok "recommend writes nothing"

# No hardware to look at: exit 2 with what was missing.
mkdir -p "$tmp/empty"
recommend "$tmp/empty"
[ "$rc" -eq 2 ] && grep -q 'no /sys/bus/pci' "$tmp/err" || fail "empty root: exit $rc: $(cat "$tmp/err")"
recommend "$hgx" extra
[ "$rc" -eq 2 ] || fail "recommend with an argument: exit $rc"
ok "errors exit 2"
finish
