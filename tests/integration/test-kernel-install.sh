#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kernel-install/60-iommu.install, run the way kernel-install runs plugins, in a temporary root.
#
# iommuctl is the real one behind a wrapper that records its arguments; with STUB_APPLY=noop the
# wrapper makes "apply" do nothing, to show that the plugin refuses a kernel that would boot without
# the tokens.
# For BLS, systemd's own 90-loaderentry.install then writes the entry, and the test reads it.
# Usage: test-kernel-install.sh IOMMUCTL SRCDIR

set -uo pipefail
real_iommuctl=${1:?}
src=${2:?}
plugin=$src/kernel-install/60-iommu.install
loaderentry=/usr/lib/kernel/install.d/90-loaderentry.install
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
for f in "$loaderentry" "$stub"; do
    [[ -e $f ]] || { echo "FAIL: $f missing (apt-get install systemd systemd-boot-efi)"; exit 1; }
done
command -v objcopy > /dev/null || { echo "FAIL: objcopy missing (apt-get install binutils)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then echo "PASS: $what"; passed=$((passed + 1)); else echo "FAIL: $what"; failed=$((failed + 1)); fi
}

mkdir -p "$tmp/bin"
cat > "$tmp/bin/iommuctl" << STUB
#!/bin/bash
echo "\$*" >> "$tmp/calls"
args=("\$@")
if [[ " \$* " == *" apply "* && \${STUB_APPLY:-} == noop ]]; then
    exit 0
fi
exec "$real_iommuctl" "\${args[@]}"
STUB
chmod +x "$tmp/bin/iommuctl"
export PATH=$tmp/bin:$PATH IOMMUCTL_PROFILES_PATH=$src/profiles
export KERNEL_INSTALL_MACHINE_ID=0123456789abcdef0123456789abcdef KERNEL_INSTALL_ENTRY_TOKEN=debian
export KERNEL_INSTALL_VERBOSE=0 KVER=6.1.0-99-amd64

# new_root CMDLINE [CONF]: a root with a gpu-sriov profile (Intel), applied on this node before
# (etc/iommu/applied, unless NOT_APPLIED=1), and /etc/kernel/cmdline.
new_root() {
    root=$tmp/root.$RANDOM
    mkdir -p "$root/etc/iommu" "$root/etc/kernel" "$root/proc" "$root/boot"
    printf '%b' "${2:-[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n}" > "$root/etc/iommu/iommu.conf"
    [[ ${NOT_APPLIED:-} == 1 ]] || echo gpu-sriov > "$root/etc/iommu/applied"
    [[ -n $1 ]] && echo "$1" > "$root/etc/kernel/cmdline"
    echo "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro" > "$root/proc/cmdline"
    echo fake-kernel > "$tmp/vmlinuz"
    staging=$root/staging
    mkdir -p "$staging" "$root/boot/$KERNEL_INSTALL_ENTRY_TOKEN/$KVER"
    : > "$tmp/calls"
}

# plugins LAYOUT: 60-iommu then (bls) 90-loaderentry, as kernel-install would.
plugins() {
    local layout=$1 rc
    env IOMMU_ROOT="$root" KERNEL_INSTALL_LAYOUT="$layout" KERNEL_INSTALL_CONF_ROOT="$root/etc/kernel" \
        KERNEL_INSTALL_BOOT_ROOT="$root/boot" KERNEL_INSTALL_STAGING_AREA="$staging" \
        "$plugin" add "$KVER" "$root/boot/$KERNEL_INSTALL_ENTRY_TOKEN/$KVER" "$tmp/vmlinuz" > "$tmp/out" 2>&1
    rc=$?
    [[ $rc == 0 && $layout == bls ]] && env KERNEL_INSTALL_LAYOUT=bls KERNEL_INSTALL_CONF_ROOT="$root/etc/kernel" \
        KERNEL_INSTALL_BOOT_ROOT="$root/boot" KERNEL_INSTALL_STAGING_AREA="$staging" \
        "$loaderentry" add "$KVER" "$root/boot/$KERNEL_INSTALL_ENTRY_TOKEN/$KVER" "$tmp/vmlinuz" >> "$tmp/out" 2>&1
    return $rc
}
entry_options() { sed -n 's/^options *//p' "$root/boot/loader/entries/$KERNEL_INSTALL_ENTRY_TOKEN-$KVER.conf"; }

# BLS: the new entry gets the tokens, other options kept, a conflicting owned token replaced.
new_root "root=/dev/vda1 ro quiet iommu=off"
check "bls: plugin succeeds" plugins bls
check "bls: ran 'iommuctl apply --if-armed --backend kernel-cmdline --no-bootloader-update'" \
    grep -qx -- "--root $root apply --if-armed --backend kernel-cmdline --no-bootloader-update" "$tmp/calls"
check "bls: entry options are the merged line" \
    test "$(entry_options)" = "root=/dev/vda1 ro quiet intel_iommu=on iommu=pt"

# BLS, already in sync: the line stays byte for byte.
new_root "root=/dev/vda1 ro intel_iommu=on iommu=pt quiet"
check "bls in sync: plugin succeeds" plugins bls
check "bls in sync: entry options unchanged" test "$(entry_options)" = "root=/dev/vda1 ro intel_iommu=on iommu=pt quiet"

# apply did not fix the source: the plugin refuses the kernel and says why.
new_root "root=/dev/vda1 ro iommu=off"
STUB_APPLY=noop plugins bls
rc=$?
check "bls, tokens missing: exit 1" test $rc = 1
check "bls, tokens missing: says which tokens and which kernel" \
    grep -q "lacks the IOMMU profile's tokens (intel_iommu=on iommu=pt).*" "$tmp/out"

# Issue 22.1: a profile that reached the node by configuration only (a fleet drop-in), never
# applied here: the new kernel boots the line it would have without the plugin.
NOT_APPLIED=1 new_root "root=/dev/vda1 ro quiet iommu=off"
check "not applied: plugin succeeds" plugins bls
check "not applied: /etc/kernel/cmdline untouched" test "$(cat "$root/etc/kernel/cmdline")" = "root=/dev/vda1 ro quiet iommu=off"
check "not applied: entry options are the source line" test "$(entry_options)" = "root=/dev/vda1 ro quiet iommu=off"
check "not applied: no change set" test ! -e "$root/var/lib/iommu/changesets"
check "not applied: not armed by the plugin" test ! -e "$root/etc/iommu/applied"
# [Apply] Automatic=yes arms it without an apply.
NOT_APPLIED=1 new_root "root=/dev/vda1 ro quiet iommu=off" "[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n[Apply]\nAutomatic=yes\n"
check "automatic: plugin succeeds" plugins bls
check "automatic: entry options are the merged line" \
    test "$(entry_options)" = "root=/dev/vda1 ro quiet intel_iommu=on iommu=pt"

# No profile configured: nothing called, nothing changed.
new_root "root=/dev/vda1 ro" "[Boot]\n#Profile=gpu-sriov\n"
check "no profile: plugin succeeds" plugins bls
check "no profile: nothing applied" bash -c "! grep -q ' apply ' '$tmp/calls'"
check "no profile: /etc/kernel/cmdline untouched" test "$(cat "$root/etc/kernel/cmdline")" = "root=/dev/vda1 ro"

# Other layouts and commands: nothing.
new_root "root=/dev/vda1 ro"
check "layout other: nothing called" bash -c "KERNEL_INSTALL_LAYOUT=other '$plugin' add $KVER /x /y && test ! -s '$tmp/calls'"
check "remove: nothing called" bash -c "KERNEL_INSTALL_LAYOUT=bls '$plugin' remove $KVER /x && test ! -s '$tmp/calls'"

# UKI: a staged UKI (built by an earlier plugin) is checked through its .cmdline section.
uki() { # uki CMDLINE: stages a UKI whose .cmdline is CMDLINE
    printf '%s\0' "$1" > "$tmp/cmdline.txt"
    objcopy --add-section .cmdline="$tmp/cmdline.txt" --change-section-vma .cmdline=0x30000 \
        --add-section .linux="$tmp/vmlinuz" --change-section-vma .linux=0x2000000 "$stub" "$staging/uki.efi"
}
new_root "root=/dev/vda1 ro"
uki "root=/dev/vda1 ro intel_iommu=on iommu=pt"
check "uki with the tokens: plugin succeeds" plugins uki
check "uki: /etc/kernel/cmdline (read by 60-ukify) carries the tokens" \
    test "$(cat "$root/etc/kernel/cmdline")" = "root=/dev/vda1 ro intel_iommu=on iommu=pt"
new_root "root=/dev/vda1 ro"
uki "root=/dev/vda1 ro iommu=off"
plugins uki
rc=$?
check "uki without the tokens: plugin fails" test $rc = 1
check "uki without the tokens: names the UKI's .cmdline" grep -q "The .cmdline section of $staging/uki.efi lacks" "$tmp/out"

echo "$passed passed, $failed failed"
((failed == 0))
