#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds real UKIs with Debian's dracut and systemd-boot's stub, with the 95iommu module from this
# tree, and reads their .cmdline sections back with objcopy: both of dracut 059's paths must carry the
# profile's tokens, kernel_cmdline (merged: others kept, a conflicting owned token replaced) and
# hostonly_cmdline's etc/cmdline.d (next to another module's root=). Also checks the initrd's early
# check against command lines. Everything happens in a temporary directory: dracut runs with its own
# module directory, no configuration from /etc, and an output path there; the kernel image is a
# placeholder (only the UKI's command line is under test). Usage: test-dracut.sh IOMMUCTL_DIR SRCDIR

set -uo pipefail
bindir=${1:?}
src=${2:?}
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
for f in /usr/bin/dracut /usr/lib/dracut/modules.d/99base "$stub"; do
    [[ -e $f ]] || { echo "FAIL: $f missing (apt-get install dracut-core systemd-boot-efi)"; exit 1; }
done
command -v objcopy > /dev/null || { echo "FAIL: objcopy missing (apt-get install binutils)"; exit 1; }

tmp=$(mktemp -d /var/tmp/test-dracut.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() {
    local what=$1
    shift
    if "$@"; then echo "PASS: $what"; passed=$((passed + 1)); else echo "FAIL: $what"; failed=$((failed + 1)); fi
}

# dracut's own tree, with our module and a stand-in for a module that stores root= (as rootfs-block
# does with hostonly_cmdline).
mkdir -p "$tmp/dracut/modules.d" "$tmp/confdir" "$tmp/root/etc/iommu/profiles"
for f in /usr/lib/dracut/*; do [[ ${f##*/} == modules.d ]] || ln -s "$f" "$tmp/dracut/"; done
for m in /usr/lib/dracut/modules.d/*; do ln -s "$m" "$tmp/dracut/modules.d/"; done
ln -s "$src/dracut/95iommu" "$tmp/dracut/modules.d/95iommu"
mkdir -p "$tmp/dracut/modules.d/90testroot"
cat > "$tmp/dracut/modules.d/90testroot/module-setup.sh" << 'EOM'
check() { return 255; }
install() {
    [[ $hostonly_cmdline == yes ]] && echo "root=/dev/vda1 rw" > "$initdir/etc/cmdline.d/90testroot.conf"
    return 0
}
EOM
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n[Boot]\nEnforce=yes\n' > "$tmp/root/etc/iommu/iommu.conf"
echo placeholder-kernel > "$tmp/vmlinuz"

export dracutbasedir=$tmp/dracut IOMMU_ROOT=$tmp/root IOMMUCTL_PROFILES_PATH=$src/profiles
# dracut sets PATH from DRACUT_PATH: the iommuctl under test comes first.
export DRACUT_PATH="$bindir /sbin /bin /usr/sbin /usr/bin"

# build NAME DRACUT-ARGS...: a UKI; prints its .cmdline.
build() {
    local name=$1
    shift
    dracut --force --quiet --no-kernel --kver 6.1.0-99-amd64 --conf /dev/null --confdir "$tmp/confdir" \
        --tmpdir "$tmp" --modules "base iommu testroot" \
        --uefi --uefi-stub "$stub" --kernel-image "$tmp/vmlinuz" "$@" "$tmp/$name.efi" > "$tmp/$name.log" 2>&1 ||
        { echo "dracut failed:"; sed 's/^/    /' "$tmp/$name.log"; return 1; }
    objcopy --dump-section .cmdline="$tmp/$name.cmdline" "$tmp/$name.efi" "$tmp/$name.discard" || return 1
    tr -d '\000' < "$tmp/$name.cmdline"
}

# Configured but never applied on this node: the image gets nothing from the module (#22: no
# surprise at rollout), and the log says why.
cmdline=$(build not-applied --hostonly --hostonly-cmdline --hostonly-mode sloppy)
echo "not-applied UKI .cmdline: '$cmdline'"
check "configured but not applied: .cmdline has no IOMMU tokens" test "$(echo $cmdline)" = "root=/dev/vda1 rw"
check "configured but not applied: dracut's log says why" \
    grep -q "iommu: Generator not armed: profile gpu-sriov was never applied" "$tmp/not-applied.log"
echo gpu-sriov > "$tmp/root/etc/iommu/applied"

cmdline=$(build kernel-cmdline --no-hostonly --kernel-cmdline "root=/dev/vda1 ro iommu=off quiet")
echo "kernel_cmdline UKI .cmdline: '$cmdline'"
check "kernel_cmdline: .cmdline is the merged line (root= kept, iommu=off replaced)" \
    test "$(echo $cmdline)" = "root=/dev/vda1 ro quiet intel_iommu=on iommu=pt"

cmdline=$(build hostonly --hostonly --hostonly-cmdline --hostonly-mode sloppy)
echo "hostonly_cmdline UKI .cmdline: '$cmdline'"
check "hostonly_cmdline: .cmdline has root= and the profile's tokens" \
    test "$(echo $cmdline)" = "root=/dev/vda1 rw intel_iommu=on iommu=pt"

# The initrd's early check, from the hostonly image: its config and the hook.
mkdir -p "$tmp/initrd"
objcopy --dump-section .initrd="$tmp/initrd.img" "$tmp/hostonly.efi" "$tmp/discard2"
(cd "$tmp/initrd" && /usr/lib/dracut/skipcpio "$tmp/initrd.img" | zstd -dcq 2> /dev/null | cpio -id --quiet 2> /dev/null ||
    /usr/lib/dracut/skipcpio "$tmp/initrd.img" | gzip -dc 2> /dev/null | cpio -id --quiet 2> /dev/null ||
    cpio -id --quiet < "$tmp/initrd.img")
check "initrd has the check's configuration (tokens, Enforce=yes)" \
    grep -qx "IOMMU_TOKENS='intel_iommu=on iommu=pt'" "$tmp/initrd/etc/iommu/initrd-check.conf"
check "initrd has Enforce=yes" grep -qx "IOMMU_ENFORCE=yes" "$tmp/initrd/etc/iommu/initrd-check.conf"
hook=$(ls "$tmp"/initrd/lib/dracut/hooks/cmdline/95-iommu-check.sh 2> /dev/null)
check "initrd has the cmdline hook" test -n "$hook"

# Run the hook with stand-ins for dracut-lib's warn/die/getargbool and a given /proc/cmdline.
hook() { # hook CMDLINE ENFORCE: prints what it said, "DIED" when it stopped the boot
    sed -e "s|/proc/cmdline|$tmp/proc-cmdline|; s|/etc/iommu/initrd-check.conf|$tmp/check.conf|" \
        "$src/dracut/95iommu/iommu-check.sh" > "$tmp/hook.sh"
    echo "$1" > "$tmp/proc-cmdline"
    sed "s/^IOMMU_ENFORCE=.*/IOMMU_ENFORCE=$2/" "$tmp/initrd/etc/iommu/initrd-check.conf" > "$tmp/check.conf"
    (
        set +u
        PATH=$bindir:$PATH
        getarg() { :; }
        warn() { echo "warn: $*"; }
        die() { echo "DIED: $*"; exit 1; }
        getargbool() { case " $(cat "$tmp/proc-cmdline") " in *" $2=0 "*) return 1 ;; *) return 0 ;; esac; }
        . "$tmp/hook.sh"
        echo "hook returned $?"
    )
}
check "hook: in-sync command line passes silently" test "$(hook "root=/dev/vda1 intel_iommu=on iommu=pt" yes)" = "hook returned 0"
check "hook: '-' and '_' alike" test "$(hook "root=/dev/vda1 intel-iommu=on iommu=pt" yes)" = "hook returned 0"
out=$(hook "root=/dev/vda1 iommu=off" yes)
check "hook: Enforce=yes stops the boot with a clear message" \
    grep -q "DIED: IOMMU command line does not match the profile (wanted: intel_iommu=on iommu=pt)" <<< "$out"
# The tokens are there, but iommu.passthrough=0 makes the kernel translate: not in sync (the
# decision is plan --check's, judged by effect, not a token comparison in shell).
out=$(hook "root=/dev/vda1 intel_iommu=on iommu=pt iommu.passthrough=0" yes)
check "hook: tokens present but undone by a later one stop the boot" bash -c '[[ $1 == *DIED* ]]' _ "$out"
out=$(hook "root=/dev/vda1 iommu=off" no)
check "hook: default warns only" bash -c '[[ $1 == *"warn: iommu: the kernel command line does not do what"* && $1 != *DIED* ]]' _ "$out"
check "initrd has iommuctl and the selected profile" \
    test -x "$tmp/initrd/usr/bin/iommuctl" -a -f "$tmp/initrd/etc/iommu/profiles/gpu-sriov.conf"
out=$(hook "root=/dev/vda1 iommu=off rd.iommuctl.enforce=0" yes)
check "hook: rd.iommuctl.enforce=0 turns enforcement off" bash -c '[[ $1 == *warn:* && $1 != *DIED* ]]' _ "$out"

# A site profile that includes a shipped one (issue #20.7): the initramfs has neither the include nor
# the search path's other files, so the module installs the profile as iommuctl resolves it, one file.
printf '[Profile]\nInclude=gpu-sriov\nDescription=site GPU nodes\n\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt iommu.passthrough=1\n' \
    > "$tmp/root/etc/iommu/profiles/site-gpu.conf"
printf '[IOMMU]\nProfile=site-gpu\nVendor=intel\n[Boot]\nEnforce=yes\n' > "$tmp/root/etc/iommu/iommu.conf"
echo site-gpu > "$tmp/root/etc/iommu/applied"
cmdline=$(build site --hostonly --hostonly-cmdline --hostonly-mode sloppy)
echo "site profile UKI .cmdline: '$cmdline'"
check "site profile: .cmdline has the including profile's tokens" \
    test "$(echo $cmdline)" = "root=/dev/vda1 rw intel_iommu=on iommu=pt iommu.passthrough=1"
mkdir -p "$tmp/initrd-site"
objcopy --dump-section .initrd="$tmp/initrd-site.img" "$tmp/site.efi" "$tmp/discard3"
(cd "$tmp/initrd-site" && /usr/lib/dracut/skipcpio "$tmp/initrd-site.img" | zstd -dcq 2> /dev/null | cpio -id --quiet 2> /dev/null ||
    /usr/lib/dracut/skipcpio "$tmp/initrd-site.img" | gzip -dc 2> /dev/null | cpio -id --quiet 2> /dev/null ||
    cpio -id --quiet < "$tmp/initrd-site.img")
pfile=$tmp/initrd-site/etc/iommu/profiles/site-gpu.conf
check "site profile: installed flattened (no Include= left)" bash -c '[[ -f $1 ]] && ! grep -q "^Include=" "$1"' _ "$pfile"
check "site profile: only the selected profile's file went in" \
    test "$(ls "$tmp/initrd-site/etc/iommu/profiles")" = "site-gpu.conf"
# Read in the initramfs's tree alone (no IOMMUCTL_PROFILES_PATH): the same profile as on the host.
host=$("$bindir/iommuctl" --root "$tmp/root" profiles --resolved site-gpu | grep -v '^#')
initrd=$(env -u IOMMUCTL_PROFILES_PATH "$bindir/iommuctl" --root "$tmp/initrd-site" profiles --resolved site-gpu | grep -v '^#')
check "site profile: the initramfs resolves it as the host does (Mode, [Expect] from the include)" \
    bash -c '[[ -n $1 && $1 == "$2" && $1 == *Mode=passthrough* && $1 == *Modules=vfio_pci* ]]' _ "$host" "$initrd"
plan() { # the early check's decision, on the initramfs's files alone
    env -u IOMMUCTL_PROFILES_PATH "$bindir/iommuctl" -q --root "$tmp/initrd-site" plan --check --profile site-gpu \
        --vendor intel --cmdline "$1" > /dev/null 2>&1
    echo $?
}
check "site profile: the initramfs's check passes the profile's line" \
    test "$(plan "root=/dev/vda1 intel_iommu=on iommu=pt iommu.passthrough=1")" = 0
check "site profile: the initramfs's check flags iommu=off" test "$(plan "root=/dev/vda1 iommu=off")" = 1
check "module-setup.sh parses no JSON" bash -c '! grep -qiE "json|sed " "$1"' _ "$src/dracut/95iommu/module-setup.sh"

echo "$passed passed, $failed failed"
((failed == 0))
