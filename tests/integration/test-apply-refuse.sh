#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Everything is validated before the first write: each case below must exit 2 with a clear
# message (naming file and line where a person wrote something) and leave the tree untouched,
# journal included.
. "$(dirname "$0")/apply-lib.sh"
root="$TMP/root"

# expect_refusal FIXTURE PATTERN CMD...: runs CMD on a fresh copy prepared by $prepare.
expect_refusal() {
        local name=$1 pattern=$2 rc=0
        shift 2
        "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
        [ $rc = 2 ] || fail "$*: exit $rc, expected 2 ($(cat "$TMP/err"))"
        grep -q -- "$pattern" "$TMP/err" || fail "$*: message lacks '$pattern': $(cat "$TMP/err")"
        same_tree "$TMP/before" "$root" || fail "$*: changed the tree"
        # No journal, or only one marked rolled back (a write failed after journaling).
        for d in "$root"/var/lib/iommu/changesets/*; do
                [ ! -e "$d" ] || [ -e "$d/rolled-back" ] || fail "$*: left a live journal $d"
        done
        echo "refused as expected: $(head -1 "$TMP/err")"
}

snapshot() {
        rm -rf "$TMP/before"
        cp -a "$root" "$TMP/before"
}

apply_debian() {
        "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel "$@"
}

# GRUB defaults lines that cannot be rewritten safely.
while IFS='|' read -r file line where; do
        fresh debian-grub-dropins "$root"
        printf '%s\n' "$line" >> "$root/$file"
        n=$(wc -l < "$root/$file")
        snapshot
        expect_refusal debian-grub-dropins "$file:$((n - where))" apply_debian
done <<'CASES'
etc/default/grub|GRUB_CMDLINE_LINUX="$(cat /etc/cmdline) quiet"|0
etc/default/grub|GRUB_CMDLINE_LINUX="`cat /etc/cmdline`"|0
etc/default/grub|GRUB_CMDLINE_LINUX="$EXTRA_ARGS quiet"|0
etc/default/grub|GRUB_CMDLINE_LINUX_DEFAULT="${GRUB_CMDLINE_LINUX} quiet"|0
etc/default/grub|[ -e /etc/foo ] && GRUB_CMDLINE_LINUX="quiet"|0
etc/default/grub|if [ -e /etc/foo ]; then GRUB_CMDLINE_LINUX="quiet"; fi|0
etc/default/grub|GRUB_CMDLINE_LINUX="unterminated|0
etc/default/grub.d/40-mitigations.cfg|GRUB_CMDLINE_LINUX_DEFAULT=${GRUB_CMDLINE_LINUX_DEFAULT:-quiet}|0
etc/default/grub.d/40-mitigations.cfg|GRUB_CMDLINE_LINUX+=" iommu=pt"|0
etc/default/grub|GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX -- single"|0
etc/default/grub.d/40-mitigations.cfg|GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX -- single"|0
etc/default/grub|GRUB_CMDLINE_LINUX="root=/dev/sda1"; [ -f /etc/x ] && . /etc/x|0
CASES

# An assignment inside a multi-line if block.
fresh debian-grub-dropins "$root"
printf 'if [ -d /sys/firmware/efi ]; then\n\tGRUB_CMDLINE_LINUX="quiet"\nfi\n' >> "$root/etc/default/grub"
n=$(wc -l < "$root/etc/default/grub")
snapshot
expect_refusal debian-grub-dropins "etc/default/grub:$((n - 1))" apply_debian

# A drop-in after ours that replaces GRUB_CMDLINE_LINUX would discard the tokens.
fresh debian-grub-dropins "$root"
printf '# site\nGRUB_CMDLINE_LINUX="console=ttyS1"\n' > "$root/etc/default/grub.d/90-site.cfg"
snapshot
expect_refusal debian-grub-dropins "90-site.cfg:2: sets GRUB_CMDLINE_LINUX after" apply_debian

# Unsafe characters in a profile's tokens.
for tok in 'iommu=pt;reboot' 'iommu=pt$x' 'iommu=`pt`' "iommu='pt'" 'iommu=p\\t'; do
        fresh debian-grub-dropins "$root"
        mkdir -p "$root/etc/iommu/profiles"
        printf '[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on %s\n' "$tok" > "$root/etc/iommu/profiles/bad.conf"
        snapshot
        expect_refusal debian-grub-dropins "bad.conf" "$IOMMUCTL" apply --root "$root" --profile bad --vendor intel
done

# $kernelopts entries without grub-editenv in $PATH.
fresh rhel8-kernelopts "$root"
snapshot
expect_refusal rhel8-kernelopts "grub2-editenv nor grub-editenv" env PATH=/nonexistent \
        "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor amd

# --entries matching nothing; a root with no boot configuration; an unknown backend.
fresh systemd-boot-esp "$root"
snapshot
expect_refusal systemd-boot-esp "No boot loader entry matches" \
        "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel --entries 'nosuch-*'
expect_refusal systemd-boot-esp "Unknown boot backend" \
        "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel --backend lilo
rm -rf "$root" && mkdir -p "$root/etc" && snapshot
expect_refusal none "No boot configuration found" "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel

# A read-only /boot (a read-only bind mount in a private mount namespace): EROFS, nothing changed.
fresh rhel9-bls-grub "$root"
snapshot
expect_refusal rhel9-bls-grub "Read-only file system" unshare -rm --propagation private bash -c \
        'mount --bind "$1/boot" "$1/boot" && mount -o remount,bind,ro "$1/boot" && shift && exec "$@"' ro "$root" \
        "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel

# rollback refuses to overwrite a file changed after the change set wrote it.
fresh systemd-boot-esp "$root"
"$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel > /dev/null 2>&1 || fail "apply failed"
echo "root=/dev/sda1 edited-by-admin" > "$root/etc/kernel/cmdline"
rm -rf "$TMP/before" && cp -a "$root" "$TMP/before"
rc=0
"$IOMMUCTL" rollback --root "$root" > /dev/null 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "rollback over an edited file exited $rc"
grep -q "etc/kernel/cmdline was changed after change set 00000001" "$TMP/err" || fail "rollback message: $(cat "$TMP/err")"
same_tree "$TMP/before" "$root" || fail "a refused rollback changed files"
echo "OK"
