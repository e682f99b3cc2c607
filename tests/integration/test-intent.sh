#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 21, intent not tokens: the kernel model chooses each profile's tokens for the target kernel
# and platform, refuses with the reason where a mode cannot be kept, and lint gives no advice that
# would break nodes. Every command here is one of the issue's acceptance lines, run against the
# captured trees and trimmed Debian configs in tests/fixtures.
set -uo pipefail
IOMMUCTL=${1:?usage: test-intent.sh IOMMUCTL FIXTURES}
H=${2:?}/hosts
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

bullseye=$H/qemu-5.10-intel-default/root/boot/config-5.10.0-32-amd64
trixie=$(echo "$H"/qemu-6.12-intel-default/root/boot/config-6.12.*)
mkdir -p "$tmp/empty"

# strict on Debian 11's 5.10: iommu.strict= does not reach VT-d there, so intel_iommu=strict.
check "plan strict, Debian 11's 5.10" 0 "$IOMMUCTL" plan --root "$tmp/empty" --cmdline ro --profile strict --vendor intel \
        --kernel 5.10.0-32-amd64 --config "$bullseye"
contains "plans intel_iommu=strict" "$out" "Planned:  ro intel_iommu=strict iommu.passthrough=0"
contains "says why" "$out" "before 5.15 iommu.strict= does not reach VT-d"
lacks "no iommu.strict=1 on 5.10" "$out" "iommu.strict=1"
check "plan strict, Debian 13's 6.12" 0 "$IOMMUCTL" plan --root "$tmp/empty" --cmdline ro --profile strict --vendor intel \
        --kernel 6.12.117+deb13-amd64 --config "$trixie"
contains "plans iommu.strict=1" "$out" "Planned:  ro intel_iommu=on iommu.passthrough=0 iommu.strict=1"
# A profile's own line still wins, linted against the model for the target kernel.
mkdir -p "$tmp/own/etc/iommu/profiles"
printf '[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on iommu.passthrough=0 iommu.strict=1\n' \
        >"$tmp/own/etc/iommu/profiles/own-strict.conf"
check "plan a profile's own strict line on 5.10" 0 "$IOMMUCTL" plan --root "$tmp/own" --cmdline ro --profile own-strict \
        --vendor intel --kernel 5.10.0-32-amd64 --config "$bullseye"
contains "the own line wins" "$out" "Planned:  ro intel_iommu=on iommu.passthrough=0 iommu.strict=1"
contains "linted against the model" "$err" "not Mode=strict; the model would write: intel_iommu=strict iommu.passthrough=0"
check "cmdline strict for AMD on 5.10" 0 "$IOMMUCTL" cmdline --root "$tmp/empty" --profile strict --vendor amd --kernel 5.10.0-32-amd64
contains "amd_iommu=fullflush" "$out" "amd_iommu=fullflush iommu.passthrough=0"

# lint with no build configuration: intel_iommu=on depends on the build, no advice to remove it.
check "lint intel_iommu=on iommu=pt, no build configuration" 0 "$IOMMUCTL" lint --root "$tmp/empty" --arch x86_64 \
        --cmdline "intel_iommu=on iommu=pt"
lacks "no advice to remove intel_iommu=on" "$out" "use: remove it"
contains "depends on the build" "$out" "intel_iommu=on: whether it is needed depends on the build"
check "lint amd_iommu=off iommu=off" 0 "$IOMMUCTL" lint --root "$tmp/empty" --cmdline "amd_iommu=off iommu=off" --vendor amd
n=$(grep -c "remove it" <<<"$out")
if [ "$n" -le 1 ]; then ok "advises removing at most one of them ($n)"; else not_ok "advises removing $n: $out"; fi
lacks "not both overridden and redundant" "$out" "changes nothing: other tokens on the line already do the same"

# A BLS entry is judged with its own kernel (version, ROOT/boot/config-VERSION), not the running one.
mkdir -p "$tmp/img/boot/loader/entries"
cp "$bullseye" "$tmp/img/boot/"
printf 'title Debian 11\nversion 5.10.0-32-amd64\nlinux /vmlinuz-5.10.0-32-amd64\noptions root=/dev/sda1 iommu.passthrough=0 iommu.strict=1\n' \
        >"$tmp/img/boot/loader/entries/debian.conf"
check "lint a 5.10 entry" 1 "$IOMMUCTL" lint --root "$tmp/img" --arch x86_64 "$tmp/img/boot/loader/entries/debian.conf"
contains "judged on 5.10: iommu.strict= does not reach x86" "$out" "debian.conf:4: error: iommu.strict=1 is ignored by the kernel"
contains "with the fix for 5.10" "$out" "intel_iommu=strict on Intel, amd_iommu=fullflush on AMD"

# VT-d with caching mode (a virtual IOMMU), nothing on the line: strict by virtualization.
cm=$H/qemu-6.12-intel-cm-default
check "verify strict on VT-d with caching mode" 0 "$IOMMUCTL" verify --no-journal --profile strict --root "$cm/root" \
        --kernel-log "$cm/kmsg.txt"
contains "passes" "$out" "Verdict:   PASS"
contains "says why" "$out" "strict by virtualization: "
contains "names caching mode" "$out" "(VT-d caching mode)"
check "plan lazy on VT-d with caching mode" 2 "$IOMMUCTL" plan --profile lazy --root "$cm/root" --kernel-log "$cm/kmsg.txt"
contains "refuses with the reason" "$err" "Mode=lazy cannot be kept on intel"
contains "and the nearest mode" "$err" "The nearest mode this kernel can give is strict."

# The lazy profile: DMA-FQ on 6.x (tests/vm/kernel-truth.sh boots it).
check "cmdline lazy intel" 0 "$IOMMUCTL" cmdline --root "$tmp/empty" --profile lazy --vendor intel
contains "lazy tokens" "$out" "intel_iommu=on iommu.passthrough=0 iommu.strict=0"

# A host running SEV-SNP guests: passthrough would stop SNP.
snp=$H/synthetic-amd-snp
check "plan gpu-sriov on an SNP host" 0 "$IOMMUCTL" plan --profile gpu-sriov --vendor amd --root "$snp/root" \
        --kernel-log "$snp/kmsg.txt"
contains "warns with the SNP reason" "$err" "SNP cannot be supported"
contains "names the profile that fits" "$out" "profile lazy fits"
check "plan gpu-sriov --json on an SNP host" 0 "$IOMMUCTL" plan --json --profile gpu-sriov --vendor amd --root "$snp/root"
contains "the conflict in JSON (kvm_amd's sev_snp, no log)" "$(python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin)["conflicts"]])' <<<"$out")" "['sev-snp']"

# A portable image that ships Debian 11's and Debian 13's kernels: one line that keeps strict on both.
mkdir -p "$tmp/image/usr/lib/modules/5.10.0-32-amd64" "$tmp/image/usr/lib/modules/6.12.117+deb13-amd64"
cp "$bullseye" "$tmp/image/usr/lib/modules/5.10.0-32-amd64/config"
cp "$trixie" "$tmp/image/usr/lib/modules/6.12.117+deb13-amd64/config"
check "plan strict for an image with 5.10 and 6.12" 0 "$IOMMUCTL" plan --root "$tmp/image" --profile strict --vendor intel
contains "the line that works on both" "$out" "Planned:  intel_iommu=strict iommu.passthrough=0"
contains "says why" "$out" "the image ships 2 kernels (5.10.0-32-amd64 to 6.12.117+deb13-amd64)"
check "plan lazy for the same image" 0 "$IOMMUCTL" plan --root "$tmp/image" --profile lazy --vendor amd
contains "lazy on both" "$out" "Expect:   IOMMU groups with DMA-FQ (lazy) domains"

# iommufd and VFIO cdev readiness: Debian 13's 6.12 is built without CONFIG_IOMMUFD.
check "recommend on Debian 13's 6.12" 0 "$IOMMUCTL" recommend --root "$H/qemu-6.12-intel-default/root"
contains "iommufd readiness from the build" "$out" "iommufd:  not available ("
contains "names the option" "$out" "CONFIG_IOMMUFD not set"
check "verify --json on Debian 13's 6.12" 1 "$IOMMUCTL" verify --json --no-journal --profile gpu-sriov \
        --root "$H/qemu-6.12-intel-default/root"
contains "iommufd_ready in verify's JSON" "$(python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' <<<"$out")" '"iommufd_ready": false'

check_done
