#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real grub-mkconfig run. In a private mount namespace (unshare: the host's mounts are never
# changed), the Debian fixture's /etc/default and a /boot with two kernels are bind-mounted over
# / , a tmpfs over /var/lib holds the journal, and grub-probe is replaced by a script (it would
# probe the host's real disks). Then "iommuctl apply" (root /, so it regenerates grub.cfg with
# update-grub) must leave the profile's tokens on every linux line of the new grub.cfg, and
# "iommuctl rollback" must regenerate it without them. Also: a missing update-grub/grub-mkconfig
# and a failing one leave every file as it was.
. "$(dirname "$0")/apply-lib.sh"
command -v grub-mkconfig > /dev/null || fail "grub-mkconfig is not installed (grub2-common)"
command -v unshare > /dev/null || fail "unshare is not installed (util-linux)"

root="$TMP/root"
fresh debian-grub-dropins "$root"
for v in 6.1.0-18-amd64 6.1.0-21-amd64; do
        echo "not a kernel" > "$root/boot/vmlinuz-$v"
        echo "not an initrd" > "$root/boot/initrd.img-$v"
done
rm -f "$root/boot/grub/grub.cfg"
cp -a "$root" "$TMP/input"
mkdir -p "$TMP/bin"
. "$(dirname "$0")/grub-probe-lib.sh"
write_grub_probe "$TMP/bin/grub-probe" 1 msdos
cat > "$TMP/bin/update-grub-fails" <<'FAILS'
#!/bin/sh
echo "update-grub: simulated failure" >&2
exit 1
FAILS
chmod +x "$TMP/bin/update-grub-fails"

# Runs $@ with the tree mounted over /etc/default, /boot and a fresh /var/lib, and every other
# write to /etc (apply --profile records the selection in /etc/iommu) going to an overlay whose
# upper directory is in $TMP (kept across calls, like the host's /etc).
host_selection=$(stat -c '%i %Y' /etc/iommu/selection 2> /dev/null || echo none)
in_tree() {
        unshare -rm --propagation private bash -euc '
                mkdir -p "$2/etc-upper" "$2/etc-work"
                mount -t overlay overlay -o "lowerdir=/etc,upperdir=$2/etc-upper,workdir=$2/etc-work" /etc
                mount --bind "$1/etc/default" /etc/default
                mount --bind "$1/boot" /boot
                mount -t tmpfs tmpfs /var/lib
                mount --bind "$2/grub-probe" "$(command -v grub-probe)"
                shift 2
                "$@"' in_tree "$root" "$TMP/bin" "$@"
}

linux_lines() {
        grep -E '^[[:space:]]*linux[[:space:]]' "$root/boot/grub/grub.cfg"
}

# 1. No tool to regenerate grub.cfg: nothing changes.
rc=0
in_tree env PATH=/nonexistent "$IOMMUCTL" apply --profile gpu-sriov --vendor intel --backend grub 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "apply without grub-mkconfig exited $rc"
grep -q 'cannot be regenerated' "$TMP/err" || fail "no clear message without grub-mkconfig: $(cat "$TMP/err")"
same_tree "$TMP/input" "$root" || fail "apply without grub-mkconfig changed files"

# 2. update-grub fails: the change set is rolled back.
mkdir -p "$TMP/failbin" && cp "$TMP/bin/update-grub-fails" "$TMP/failbin/update-grub"
rc=0
in_tree env PATH="$TMP/failbin:/usr/bin:/bin" "$IOMMUCTL" apply --profile gpu-sriov --vendor intel --backend grub 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "apply with a failing update-grub exited $rc"
grep -q 'update-grub failed' "$TMP/err" || fail "no clear message for a failing update-grub: $(cat "$TMP/err")"
same_tree "$TMP/input" "$root" || fail "a failing update-grub left changed files"

# 3. The real thing.
in_tree "$IOMMUCTL" apply --profile gpu-sriov --vendor intel --backend grub > "$TMP/out" 2> "$TMP/err" ||
        fail "apply failed: $(cat "$TMP/err")"
cat "$TMP/out"
[ -s "$root/boot/grub/grub.cfg" ] || fail "grub.cfg was not generated: $(cat "$TMP/err")"
n=$(linux_lines | wc -l)
[ "$n" -ge 4 ] || fail "expected a linux line per kernel and per recovery entry, got $n"
linux_lines | while read -r line; do
        case " $line " in
                *" intel_iommu=on iommu=pt "*) ;;
                *) fail "linux line without the profile's tokens: $line" ;;
        esac
        case " $line " in
                *intel_iommu=off*|*iommu=soft*|*amd_iommu=off*|*iommu.passthrough=0*) fail "conflicting token left: $line" ;;
        esac
done
echo "grub.cfg: $n linux lines, all with intel_iommu=on iommu=pt"
linux_lines | head -2

# 4. Nothing to do: grub.cfg is not regenerated either.
before=$(stamps "$root")
in_tree "$IOMMUCTL" apply --profile gpu-sriov --vendor intel --backend grub > "$TMP/out" 2>&1 || fail "second apply failed"
grep -q 'Nothing to change' "$TMP/out" || fail "second apply: $(cat "$TMP/out")"
[ "$before" = "$(stamps "$root")" ] || fail "second apply touched a file"

# 5. rollback regenerates grub.cfg from the old defaults. (The journal lived on the tmpfs of
# the first namespace, so roll back with a fresh apply of the journal copy: rerun apply and
# rollback in one namespace.)
fresh debian-grub-dropins "$root"
rm -rf "$root/boot/grub/grub.cfg" "$TMP/bin/etc-upper"
for v in 6.1.0-18-amd64 6.1.0-21-amd64; do
        echo "not a kernel" > "$root/boot/vmlinuz-$v"
        echo "not an initrd" > "$root/boot/initrd.img-$v"
done
in_tree bash -c '"$0" apply --profile gpu-sriov --vendor intel --backend grub >/dev/null && "$0" rollback' "$IOMMUCTL" > "$TMP/out" 2> "$TMP/err" ||
        fail "apply + rollback failed: $(cat "$TMP/err")"
grep -q '^removed  */etc/default/grub.d/60-iommu.cfg' "$TMP/out" || fail "rollback did not remove the drop-in: $(cat "$TMP/out")"
linux_lines | grep -q 'intel_iommu=on iommu=pt' && fail "grub.cfg still has the tokens after rollback"
linux_lines | grep -q 'intel_iommu=off' || fail "grub.cfg after rollback lacks the old tokens"
rm -f "$root/boot/grub/grub.cfg"
same_tree "$TMP/input" "$root" || fail "rollback did not restore the defaults"
# 5b. rollback is all or nothing too: with a failing update-grub it writes the set's files back
# (the drop-in stays, grub.cfg keeps matching it), exits 2, and a retry rolls back for real.
fresh debian-grub-dropins "$root"
rm -rf "$root/boot/grub/grub.cfg" "$TMP/bin/etc-upper"
for v in 6.1.0-18-amd64 6.1.0-21-amd64; do
        echo "not a kernel" > "$root/boot/vmlinuz-$v"
        echo "not an initrd" > "$root/boot/initrd.img-$v"
done
in_tree bash -c '
        "$0" apply --profile gpu-sriov --vendor intel --backend grub > /dev/null 2>&1 || exit 10
        rc=0; env PATH="$1:/usr/bin:/bin" "$0" rollback > rb1.out 2>&1 || rc=$?; echo "rollback1 $rc"
        [ -f /etc/default/grub.d/60-iommu.cfg ] && echo "dropin-kept"
        rc=0; "$0" rollback > rb2.out 2>&1 || rc=$?; echo "rollback2 $rc"
        [ -f /etc/default/grub.d/60-iommu.cfg ] || echo "dropin-removed"' "$IOMMUCTL" "$TMP/failbin" > "$TMP/out" 2> "$TMP/err" ||
        fail "rollback with a failing update-grub: $(cat "$TMP/out" "$TMP/err")"
grep -qx 'rollback1 2' "$TMP/out" || fail "rollback with a failing update-grub: $(cat "$TMP/out" rb1.out)"
grep -q 'nothing was rolled back' rb1.out || fail "rollback with a failing update-grub did not say so: $(cat rb1.out)"
grep -qx 'dropin-kept' "$TMP/out" || fail "a failed rollback removed the drop-in while grub.cfg kept the profile"
grep -qx 'rollback2 0' "$TMP/out" || fail "the retried rollback failed: $(cat rb2.out)"
grep -qx 'dropin-removed' "$TMP/out" || fail "the retried rollback did not remove the drop-in: $(cat rb2.out)"
linux_lines | grep -q 'intel_iommu=on iommu=pt' && fail "grub.cfg still has the tokens after the retried rollback"
rm -f rb1.out rb2.out "$root/boot/grub/grub.cfg"
same_tree "$TMP/input" "$root" || fail "the retried rollback did not restore the defaults"
# 6. After apply --no-bootloader-update, grub.cfg does not match the defaults: status --check says
# the next boot lacks the profile, and the next apply regenerates grub.cfg instead of saying
# "Nothing to change".
fresh debian-grub-dropins "$root"
rm -rf "$TMP/bin/etc-upper"
for v in 6.1.0-18-amd64 6.1.0-21-amd64; do
        echo "not a kernel" > "$root/boot/vmlinuz-$v"
        echo "not an initrd" > "$root/boot/initrd.img-$v"
done
in_tree bash -c '
        set -e
        a="--vendor intel --backend grub"
        "$0" apply --profile bare-metal $a > /dev/null 2>&1
        "$0" apply --profile gpu-sriov $a --no-bootloader-update > /dev/null 2>&1
        rc=0; "$0" status --check --vendor intel > status1.out 2>&1 || rc=$?; echo "status1 $rc"
        "$0" apply --vendor intel --backend grub 2>&1
        rc=0; "$0" status --check --vendor intel > status2.out 2>&1 || rc=$?; echo "status2 $rc"' "$IOMMUCTL" > "$TMP/out" 2> "$TMP/err" ||
        fail "stale grub.cfg case: $(cat "$TMP/out" "$TMP/err")"
cat "$TMP/out"
grep -qx 'status1 1' "$TMP/out" || fail "status --check with a stale grub.cfg did not exit 1: $(cat status1.out)"
grep -q 'grub.cfg was not generated from /etc/default/grub' status1.out || fail "status did not say grub.cfg is stale: $(cat status1.out)"
grep -q "Next boot: grub.cfg .*does NOT carry the profile" status1.out || fail "status: $(cat status1.out)"
grep -q 'regenerating it' "$TMP/out" || fail "the apply after --no-bootloader-update did not regenerate grub.cfg"
! grep -q 'Nothing to change' "$TMP/out" || fail "apply said Nothing to change with a stale grub.cfg"
grep -qx 'status2 0' "$TMP/out" || fail "status --check after regenerating: $(cat status2.out)"
linux_lines | grep -q 'intel_iommu=on iommu=pt' || fail "grub.cfg was not regenerated with the profile"
rm -f status1.out status2.out

[ "$host_selection" = "$(stat -c '%i %Y' /etc/iommu/selection 2> /dev/null || echo none)" ] ||
        fail "the test changed the host's /etc/iommu/selection"
echo "OK: grub-mkconfig regenerated grub.cfg with and without the profile's tokens"
