#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# "iommuctl groups" and "groups set-type" on copies of the synthetic trees.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$IOMMUCTL" groups --json --root "$HOSTS/synthetic-hgx-h100/root")
[ "$(grep -cE '^      "group": [0-9]+,$' <<<"$out")" -eq 200 ] || fail "groups --json: want 200 groups"
grep -q '"class": "030200"' <<<"$out" || fail "groups --json: GPU class"
out=$("$IOMMUCTL" groups --root "$HOSTS/synthetic-hgx-h100/root")
grep -Eq '^4 +identity +0000:19:00.0 +10de:2330 +030200 +nvidia +GPU, NIC 0000:1a:00.0 PIX redirected$' <<<"$out" || fail "groups text: GPU row"
# Issue 25: every GPU names its NIC peer (under the same PCIe switch) and the path class.
for i in 1 2 3 4 5 6 7 8; do
        grep -Eq "^[0-9]+ +identity +0000:${i}9:00.0 .*GPU, NIC 0000:${i}a:00.0 PIX redirected\$" <<<"$out" \
                || fail "groups text: GPU 0000:${i}9:00.0 without its NIC peer"
done
[ "$(grep -c 'GPU, NIC ' <<<"$out")" -eq 8 ] || fail "groups text: want 8 GPUs with a NIC peer"
json=$("$IOMMUCTL" groups --json --root "$HOSTS/synthetic-hgx-h100/root")
[ "$(grep -c '"class": "PIX"' <<<"$json")" -eq 8 ] && grep -q '"nic": "0000:8a:00.0"' <<<"$json" \
        || fail "groups --json: gpu_peers"
grep -Eq '^0 +identity +0000:00:1f.0 ' <<<"$out" && grep -Eq '^ +0000:00:1f.4 +8086:1bc9 .*i801_smbus' <<<"$out" \
        || fail "groups text: shared chipset group"
grep -Eq 'VF of 0000:1a:00.0$' <<<"$out" || fail "groups text: VF marked"
ok "groups lists types, devices, GPUs and SR-IOV"

cp -a "$HOSTS/synthetic-hgx-h100/root" "$tmp/r"
set_type() { rc=0; out=$("$IOMMUCTL" groups set-type --root "$tmp/r" "$@" 2>&1) || rc=$?; }

set_type 4 DMA # the GPU, bound to nvidia
[ "$rc" -eq 2 ] && grep -q 'bound to driver nvidia' <<<"$out" || fail "bound group: exit $rc: $out"
[ "$(cat "$tmp/r/sys/kernel/iommu_groups/4/type")" = identity ] || fail "bound group was changed"

set_type 50 passthrough
[ "$rc" -eq 2 ] && grep -q "the passthrough domain type is 'identity'" <<<"$out" || fail "passthrough: $out"

set_type 50 DMA # a VF of the first NIC, unbound
[ "$rc" -eq 0 ] || fail "unbound group: exit $rc: $out"
[ "$(cat "$tmp/r/sys/kernel/iommu_groups/50/type")" = DMA ] || fail "unbound group: type not written"
set_type 50 dma-fq
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/r/sys/kernel/iommu_groups/50/type")" = DMA-FQ ] || fail "DMA-FQ: $out"

echo 5.13.0-52-generic >"$tmp/r/proc/sys/kernel/osrelease"
set_type 50 DMA-FQ
[ "$rc" -eq 2 ] && grep -q 'needs 5.15 or later' <<<"$out" || fail "DMA-FQ on 5.13: $out"
echo 5.10.0-28-amd64 >"$tmp/r/proc/sys/kernel/osrelease"
set_type 50 identity
[ "$rc" -eq 2 ] && grep -q 'needs 5.11 or later' <<<"$out" || fail "5.10: $out"
set_type 999 identity
[ "$rc" -eq 2 ] || fail "missing group: exit $rc"
ok "set-type refuses with reasons and writes unbound groups"
finish
