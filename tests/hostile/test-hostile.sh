#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile image trees: symlinks at every level (absolute and relative) pointing out of the root,
# FIFOs and devices in place of files, NUL bytes, huge files, forged change-set journals and
# [Publish] paths. A decoy directory sits OUTSIDE every root; after each run its checksums must be
# unchanged, nothing may hang (each command runs under timeout), and each refusal must name what
# it refused. Runs the real binary (ASan build too: any sanitizer report fails).
. "$(dirname "$0")/../integration/apply-lib.sh"
HOSTS="$SRCDIR/tests/fixtures/hosts"
T=${HOSTILE_TIMEOUT:-30}
decoy="$TMP/decoy"
root="$TMP/img"
n_ok=0

ok() {
        n_ok=$((n_ok + 1))
        echo "ok: $*"
}

# Everything about the decoy that a write, a truncation or a removal would change.
decoy_sum() {
        (cd "$decoy" && find . -printf '%p %y %s %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

new_decoy() {
        rm -rf "$decoy"
        mkdir -p "$decoy"
        echo "root:SECRET-HASH-OF-THE-BUILD-HOST:19000:0:99999:7:::" > "$decoy/shadow"
        echo "victim" > "$decoy/victim"
}

# run CMD...: under timeout; sets rc, fails on a hang or a sanitizer report.
run() {
        rc=0
        timeout "$T" "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
        [ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "hung (timeout ${T}s): $*"
        ! grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/err" || fail "sanitizer report: $*: $(cat "$TMP/err")"
        return 0
}

# expect_clean WHAT: the decoy is as it was.
expect_clean() {
        [ "$(decoy_sum)" = "$decoy_before" ] || {
                diff <(echo "$decoy_before") <(decoy_sum) >&2 || true
                fail "$1: changed the decoy outside the root"
        }
}

# expect_outcome WHAT PATTERN: exit 0, or exit 2 with PATTERN in the message (the refusal names it).
expect_outcome() {
        case $rc in
        0) ;;
        2) grep -q -- "$2" "$TMP/err" || fail "$1: refused without naming '$2': $(cat "$TMP/err")" ;;
        *) fail "$1: exit $rc: $(cat "$TMP/err")" ;;
        esac
}

# expect_refused WHAT PATTERN: exit 2 naming PATTERN.
expect_refused() {
        [ "$rc" = 2 ] || fail "$1: exit $rc, expected a refusal: $(cat "$TMP/err")"
        grep -q -- "$2" "$TMP/err" || fail "$1: message lacks '$2': $(cat "$TMP/err")"
}

apply() {
        run "$IOMMUCTL" apply --root "$root" "$@"
}

# Relative link target from the directory of $1 to $2.
rel_target() {
        realpath -m --relative-to="$(dirname "$1")" "$2"
}

# ---------------------------------------------------------------------------------------------
# 1. A symlink out of the root at every level of every path apply reads or writes.
symlink_case() {
        local fixture=$1 args=$2 level=$3 kind=$4 target
        new_decoy
        fresh "$fixture" "$root"
        mkdir -p "$root/var/lib/iommu/changesets"
        : > "$root/var/lib/iommu/lock"
        [ -e "$root/$level" ] || mkdir -p "$root/$level"
        # The decoy gets the real contents, so a confined apply finds nothing and an unconfined
        # one would rewrite them there.
        mkdir -p "$decoy/$(dirname "$level")"
        mv "$root/$level" "$decoy/$level"
        if [ "$kind" = abs ]; then
                target="$decoy/$level"
        else
                target=$(rel_target "$root/$level" "$decoy/$level")
        fi
        ln -s "$target" "$root/$level"
        decoy_before=$(decoy_sum)
        # shellcheck disable=SC2086
        apply $args
        expect_outcome "$fixture: $level -> $kind $target" "$level"
        expect_clean "apply, $fixture: $level symlinked ($kind) out of the root"
        if [ "$rc" = 0 ]; then
                run "$IOMMUCTL" rollback --root "$root"
                expect_clean "rollback, $fixture: $level symlinked ($kind)"
        fi
}

for kind in abs rel; do
        for level in boot boot/loader boot/loader/entries boot/grub2 boot/grub2/grubenv etc etc/default etc/default/grub \
                     etc/kernel etc/kernel/cmdline var var/lib var/lib/iommu var/lib/iommu/changesets var/lib/iommu/lock; do
                symlink_case rhel9-bls-grub "--profile gpu-sriov --vendor intel" "$level" "$kind"
        done
        for level in efi efi/loader efi/loader/entries efi/loader/loader.conf; do
                symlink_case systemd-boot-esp "--profile gpu-sriov --vendor portable" "$level" "$kind"
        done
        for level in etc/default/grub.d etc/default/grub.d/40-mitigations.cfg; do
                symlink_case debian-grub-dropins "--profile gpu-sriov --vendor intel" "$level" "$kind"
        done
done
ok "apply and rollback with a symlink out of the root at each of 25 levels, absolute and relative: the decoy is untouched"

# /boot/efi as a symlink to an outside ESP with its own entries.
new_decoy
fresh rhel9-bls-grub "$root"
mkdir -p "$decoy/esp/loader/entries"
printf 'title outside\nlinux /vmlinuz\noptions root=/dev/sda1\n' > "$decoy/esp/loader/entries/outside.conf"
ln -s "$decoy/esp" "$root/boot/efi"
decoy_before=$(decoy_sum)
apply --profile gpu-sriov --vendor intel
expect_outcome "boot/efi -> outside ESP" "boot/efi"
expect_clean "boot/efi symlinked to an outside ESP"
ok "boot/efi symlinked to an ESP outside the root: its entries are not touched"

# Acceptance: IMG/boot a symlink to a directory outside IMG.
new_decoy
fresh rhel9-bls-grub "$root"
mv "$root/boot" "$decoy/boot"
ln -s "$decoy/boot" "$root/boot"
decoy_before=$(decoy_sum)
apply --profile gpu-sriov --vendor intel
expect_outcome "IMG/boot -> outside" "boot"
expect_clean "IMG/boot symlinked outside"
ok "acceptance: IMG/boot -> outside directory: apply exit $rc, decoy checksums unchanged"

# ---------------------------------------------------------------------------------------------
# 2. Host files must not be copied into the image through a symlinked boot file.
for kind in abs rel; do
        new_decoy
        fresh rhel9-bls-grub "$root"
        entry=$root/boot/loader/entries/x.conf
        if [ $kind = abs ]; then ln -s "$decoy/shadow" "$entry"; else ln -s "$(rel_target "$entry" "$decoy/shadow")" "$entry"; fi
        for f in etc/default/grub etc/kernel/cmdline; do
                rm -f "$root/$f"
                if [ $kind = abs ]; then ln -s "$decoy/shadow" "$root/$f"; else ln -s "$(rel_target "$root/$f" "$decoy/shadow")" "$root/$f"; fi
        done
        decoy_before=$(decoy_sum)
        apply --profile gpu-sriov --vendor intel
        expect_clean "entries/grub/cmdline -> host shadow ($kind)"
        ! grep -rq "SECRET-HASH-OF-THE-BUILD-HOST" "$root" || fail "host file copied into the image ($kind link)"
done
ok "symlinks to a host file (absolute and relative): never read, never copied into the image"

# A hard link to a host file (same file system) in place of a boot file: refused, not copied in.
new_decoy
fresh rhel9-bls-grub "$root"
rm -f "$root/etc/kernel/cmdline"
ln "$decoy/shadow" "$root/etc/kernel/cmdline"
decoy_before=$(decoy_sum)
apply --profile gpu-sriov --vendor intel
expect_refused "etc/kernel/cmdline hard-linked to a host file" "etc/kernel/cmdline: it has 2 hard links"
expect_clean "hard-linked boot file"
[ "$(find "$root/var" -type f -exec grep -l SECRET-HASH {} + 2> /dev/null)" = "" ] || fail "hard-linked host file journaled"
ok "a boot file hard-linked to a host file is refused, nothing journaled"

# ---------------------------------------------------------------------------------------------
# 3. Change-set directories and manifests.
new_decoy
fresh rhel9-bls-grub "$root"
mkdir -p "$root/var/lib/iommu/changesets" "$decoy/cs"
echo a > "$decoy/cs/a"
echo b > "$decoy/cs/old-0"
ln -s "$decoy/cs" "$root/var/lib/iommu/changesets/00000001"
decoy_before=$(decoy_sum)
apply --profile gpu-sriov --vendor intel
expect_outcome "changesets/00000001 -> outside" "00000001"
expect_clean "changesets/00000001 symlinked outside: recovery"
run "$IOMMUCTL" rollback --root "$root"
expect_clean "changesets/00000001 symlinked outside: rollback"
# With a journal in it, as if interrupted: still never recovered or removed.
printf 'iommuctl-changeset 3\n0\t1\t1\t0644\t-1\t-1\t2\t0\t0\t0\tbls\t/victim\n\nb\n' > "$decoy/cs/journal"
decoy_before=$(decoy_sum)
fresh rhel9-bls-grub "$root"
mkdir -p "$root/var/lib/iommu/changesets"
ln -s "$(rel_target "$root/var/lib/iommu/changesets/00000001" "$decoy/cs")" "$root/var/lib/iommu/changesets/00000001"
apply --profile gpu-sriov --vendor intel
expect_clean "changesets/00000001 (relative, with a journal) symlinked outside"
ok "acceptance: changesets/00000001 -> outside directory: the next apply deletes nothing outside"

# Forged journals: traversal and absolute paths outside, for recovery and for rollback.
for path in "/../../../../../../..$decoy/victim" "/boot/../../../../../..$decoy/victim" "$decoy/../decoy/victim" "boot/x" "/boot//x" "/boot/./x"; do
        for state in interrupted complete; do
                new_decoy
                fresh rhel9-bls-grub "$root"
                cs=$root/var/lib/iommu/changesets/00000001
                mkdir -p "$cs"
                printf 'iommuctl-changeset 3\n0\t1\t1\t0644\t-1\t-1\t20\t7\t0\t0\tbls\t%s\n\njournaled old bytes\nvictim\n' "$path" \
                        > "$cs/journal"
                [ $state = interrupted ] || date +%s > "$cs/complete"
                decoy_before=$(decoy_sum)
                if [ $state = interrupted ]; then
                        apply --profile gpu-sriov --vendor intel
                else
                        run "$IOMMUCTL" rollback --root "$root"
                fi
                expect_clean "forged journal path '$path' ($state)"
                [ "$path" = "$decoy/../decoy/victim" ] || [ "$rc" = 2 ] || fail "forged journal '$path' ($state): exit $rc"
                grep -q "journal:2" "$TMP/err" || [ "$path" = "$decoy/../decoy/victim" ] ||
                        fail "forged journal '$path' ($state): refusal does not name journal:2: $(cat "$TMP/err")"
        done
done
ok "journals naming paths with '..', relative or unnormalized paths are refused (journal:2); none reaches the decoy"

# ---------------------------------------------------------------------------------------------
# 4. FIFOs and devices in place of files: nothing hangs, the refusal names the file.
fifo_case() {
        local f=$1 pattern=$2
        new_decoy
        fresh rhel9-bls-grub "$root"
        mkdir -p "$root/etc/iommu" "$(dirname "$root/$f")"
        rm -f "$root/$f"
        mkfifo "$root/$f"
        decoy_before=$(decoy_sum)
        apply --profile gpu-sriov --vendor intel
        expect_outcome "FIFO at $f" "$pattern"
        expect_clean "FIFO at $f"
}
fifo_case boot/loader/entries/fifo.conf "fifo.conf.*not a regular file"
fifo_case etc/default/grub "etc/default/grub.*not a regular file"
fifo_case etc/kernel/cmdline "etc/kernel/cmdline.*not a regular file"
fifo_case boot/grub2/grubenv "grubenv"
fifo_case boot/loader/loader.conf "loader.conf"
fifo_case etc/iommu/iommu.conf "iommu.conf.*not a regular file"
fifo_case etc/iommu/iommu.conf.d/50-x.conf "50-x.conf.*not a regular file"
fifo_case var/lib/iommu/lock "lock"
# The FIFO cases above that must be refusals, not silently passed over:
for f in boot/loader/entries/fifo.conf etc/default/grub etc/iommu/iommu.conf; do
        fresh rhel9-bls-grub "$root"
        mkdir -p "$root/etc/iommu"
        rm -f "$root/$f"
        mkfifo "$root/$f"
        apply --profile gpu-sriov --vendor intel
        expect_refused "FIFO at $f" "$(basename "$f")"
done
new_decoy
mkfifo "$TMP/lint.fifo"
run "$IOMMUCTL" lint "$TMP/lint.fifo"
[ "$rc" != 0 ] && grep -q "lint.fifo.*not a regular file" "$TMP/err" || fail "lint FIFO: exit $rc: $(cat "$TMP/err")"
# A change-set journal that is a FIFO.
fresh rhel9-bls-grub "$root"
mkdir -p "$root/var/lib/iommu/changesets/00000001"
mkfifo "$root/var/lib/iommu/changesets/00000001/journal"
apply --profile gpu-sriov --vendor intel
# Not a journal: a set directory without one never touched a boot file, and is removed.
expect_outcome "FIFO journal" "journal"
[ ! -p "$root/var/lib/iommu/changesets/00000001/journal" ] || fail "FIFO journal: left in place"
ok "FIFOs at each file read (entries, GRUB, cmdline, grubenv, loader.conf, iommu.conf and drop-ins, lock, journal, lint's argument): no hang, refusal named"

# Devices: mknod where we can, a symlink to /dev/zero in every case (which resolves inside the root).
fresh rhel9-bls-grub "$root"
mkdir -p "$root/etc/iommu"
ln -s /dev/zero "$root/etc/iommu/iommu.conf"
apply --profile gpu-sriov --vendor intel
expect_outcome "iommu.conf -> /dev/zero" "iommu.conf"
if [ "$(id -u)" = 0 ]; then
        rm "$root/etc/iommu/iommu.conf"
        mknod "$root/etc/iommu/iommu.conf" c 1 5
        mknod "$root/boot/loader/entries/zero.conf" c 1 5
        apply --profile gpu-sriov --vendor intel
        expect_refused "iommu.conf a character device" "iommu.conf.*not a regular file"
        run "$IOMMUCTL" lint "$root/boot/loader/entries/zero.conf"
        [ "$rc" != 0 ] && grep -q "zero.conf.*not a regular file" "$TMP/err" || fail "lint of a device: exit $rc"
        ok "character devices (mknod) in place of iommu.conf and an entry: refused, named"
else
        echo "note: not root, the mknod device cases ran as /dev/zero symlinks only"
fi

# ---------------------------------------------------------------------------------------------
# 5. Bad bytes: NUL, huge files, trailing backslash.
fresh rhel9-bls-grub "$root"
e=$(ls "$root"/boot/loader/entries/*5.14*.conf)
printf 'title a\0b\n' | cat - "$e" > "$TMP/nul" && cat "$TMP/nul" > "$e"
rm -rf "$TMP/before" && cp -a "$root" "$TMP/before"
apply --profile gpu-sriov --vendor intel
expect_refused "BLS entry with a NUL byte" "$(basename "$e"): NUL byte at offset 7"
same_tree "$TMP/before" "$root" || fail "BLS entry with a NUL byte: tree changed"
ok "acceptance: a BLS entry with a NUL byte is refused, naming the file and offset, nothing changed"

for f in etc/default/grub etc/kernel/cmdline; do
        fresh rhel9-bls-grub "$root"
        printf 'X\0Y\n' >> "$root/$f"
        apply --profile gpu-sriov --vendor intel
        expect_refused "NUL in $f" "$f: NUL byte at offset"
done
# grubenv matters where the entries use $kernelopts.
fresh rhel8-kernelopts "$root"
printf 'X\0Y\n' >> "$root/boot/grub2/grubenv"
apply --profile gpu-sriov --vendor amd
expect_refused "NUL in grubenv" "grubenv: NUL byte at offset"
ok "NUL bytes in GRUB defaults, /etc/kernel/cmdline and grubenv: refused with the offset"

fresh rhel9-bls-grub "$root"
printf 'GRUB_DISABLE_RECOVERY="true" \\' >> "$root/etc/default/grub"
n=$(($(wc -l < "$root/etc/default/grub") + 1))
rm -rf "$TMP/before" && cp -a "$root" "$TMP/before"
apply --profile gpu-sriov --vendor intel
expect_refused "GRUB file ending in a backslash" "etc/default/grub:$n: ends in a backslash"
same_tree "$TMP/before" "$root" || fail "trailing backslash: tree changed"
ok "acceptance: a GRUB file ending in '\\' without newline is refused with file:line ($(head -1 "$TMP/err"))"

fresh rhel9-bls-grub "$root"
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' 'x' > "$root/boot/loader/entries/huge.conf"
apply --profile gpu-sriov --vendor intel
expect_refused "huge entry" "huge.conf.*larger than"
fresh rhel9-bls-grub "$root"
mkdir -p "$root/etc/iommu"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '#' > "$root/etc/iommu/iommu.conf"
apply --profile gpu-sriov --vendor intel
expect_refused "huge iommu.conf" "iommu.conf.*larger than"
run "$IOMMUCTL" lint "$root/boot/loader/entries/huge.conf"
[ "$rc" != 0 ] && grep -q "huge.conf" "$TMP/err" || fail "lint of a huge file: exit $rc"
ok "huge files (entry, iommu.conf, lint argument): refused, named"

# ---------------------------------------------------------------------------------------------
# 6. verify --root (the boot check, which publishes): [Publish] paths and a symlinked etc/kubernetes
# stay inside the root.
new_decoy
rm -rf "$root"
cp -a "$HOSTS/synthetic-hgx-h100/root" "$root"
mkdir -p "$root/etc/iommu"
printf '[IOMMU]\nProfile=gpu-sriov\n[Publish]\nNodeFeatureDiscovery=yes\nNodeFeatureDiscoveryPath=%s\nPrometheus=yes\nPrometheusPath=/../../../../../..%s\n' \
        "$decoy/victim" "$decoy/shadow" > "$root/etc/iommu/iommu.conf"
decoy_before=$(decoy_sum)
run "$IOMMUCTL" verify --boot-check --no-journal --root "$root"
expect_clean "verify --root with [Publish] paths naming host files"
[ -f "$root/$decoy/victim" ] && [ -f "$root/$decoy/shadow" ] || fail "[Publish] files not written inside the root: $(cat "$TMP/err")"
printf '[IOMMU]\nProfile=gpu-sriov\n[Publish]\nNodeFeatureDiscovery=yes\nPrometheus=yes\n' > "$root/etc/iommu/iommu.conf"
rm -rf "$root/etc/kubernetes" "$root/var/lib/prometheus"
mkdir -p "$root/var/lib"
ln -s "$decoy" "$root/etc/kubernetes"
ln -s "$(rel_target "$root/var/lib/prometheus" "$decoy")" "$root/var/lib/prometheus"
decoy_before=$(decoy_sum)
run "$IOMMUCTL" verify --boot-check --no-journal --root "$root"
expect_clean "verify --root with etc/kubernetes and var/lib/prometheus symlinked out"
ok "verify --root: [Publish] paths and symlinked publish directories resolve inside the root"

# groups set-type: a symlinked type file is not followed, its target not truncated.
new_decoy
g=$root/sys/kernel/iommu_groups/50/type
echo "DMA" > "$decoy/type"
rm -f "$g"
ln -s "$decoy/type" "$g"
decoy_before=$(decoy_sum)
run "$IOMMUCTL" groups set-type --root "$root" 50 DMA
expect_clean "groups set-type with a symlinked type file"
[ "$rc" != 0 ] || fail "groups set-type through a symlinked type file succeeded"
rm -f "$g"
ln -s "$(rel_target "$g" "$decoy/type")" "$g"
run "$IOMMUCTL" groups set-type --root "$root" 50 DMA
expect_clean "groups set-type with a relative symlinked type file"
run "$IOMMUCTL" groups --root "$root"
expect_clean "groups with a symlinked type file"
ok "groups set-type never truncates the target of a symlinked type file"

# Symlinked sysfs and proc directories out of the root: verify reads nothing outside, hangs on nothing.
new_decoy
mkfifo "$decoy/cmdline"
rm -rf "$root/proc"
ln -s "$decoy" "$root/proc"
decoy_before=$(decoy_sum)
run "$IOMMUCTL" verify --boot-check --no-journal --root "$root"
expect_clean "verify with /proc symlinked out"
run "$IOMMUCTL" groups --root "$root"
mkfifo "$root/sys/kernel/iommu_groups/4/type.new" && mv -f "$root/sys/kernel/iommu_groups/4/type.new" "$root/sys/kernel/iommu_groups/4/type"
run "$IOMMUCTL" verify --boot-check --no-journal --root "$root"
run "$IOMMUCTL" groups --root "$root"
ok "verify and groups with /proc symlinked out and a FIFO as a group's type: no hang, decoy untouched"

# groups prints sysfs names: terminal control bytes in a crafted tree come out escaped.
rm -rf "$root"
cp -a "$HOSTS/synthetic-hgx-h100/root" "$root"
d=$(ls "$root/sys/kernel/iommu_groups/4/devices" | head -1)
mv "$root/sys/kernel/iommu_groups/4/devices/$d" "$root/sys/kernel/iommu_groups/4/devices/$(printf 'evil\033[2J\033]0;x\007')"
run "$IOMMUCTL" groups --root "$root"
! grep -q "$(printf '\033')" "$TMP/out" || fail "groups printed a raw ESC byte"
grep -qF 'evil\x1b[2J\x1b]0;x\x07' "$TMP/out" || fail "groups: escaped name missing: $(cat -v "$TMP/out" | grep evil)"
ok "groups escapes terminal control bytes in sysfs names"

echo "$n_ok hostile checks passed"
