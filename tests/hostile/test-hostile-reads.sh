#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile image trees, READ side: files of the tree that are symlinks out of the root (iommu.conf.d
# drop-ins, profiles, boot loader entries, /etc/default/grub.d drop-ins, etc/iommu itself) point
# at decoy files OUTSIDE the root. The decoys' contents must never appear in any output, never
# steer what is written (another profile, other tokens), and are never read (their access time,
# where this file system keeps one, does not move). A root path holding '[', '*' and '?' is used
# as a name, never as a pattern. Runs the real binary (ASan build too: any sanitizer report fails).
. "$(dirname "$0")/../integration/apply-lib.sh"
T=${HOSTILE_TIMEOUT:-30}
decoy="$TMP/decoy"
root="$TMP/img"
MARK=DECOYMARK7f3a
n_ok=0

ok() {
        n_ok=$((n_ok + 1))
        echo "ok: $*"
}

# run CMD...: under timeout, stdout and stderr together in $TMP/out; fails on a hang or a
# sanitizer report.
run() {
        rc=0
        timeout "$T" "$@" > "$TMP/out" 2>&1 || rc=$?
        [ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "hung (timeout ${T}s): $*"
        [ "$rc" -lt 128 ] || fail "crashed (exit $rc): $*: $(cat "$TMP/out")"
        ! grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/out" || fail "sanitizer report: $*: $(cat "$TMP/out")"
        return 0
}

# no_mark WHAT: the decoy's marker is in neither the output nor any file of the tree.
no_mark() {
        ! grep -q "$MARK" "$TMP/out" || fail "$1: decoy contents in the output: $(grep "$MARK" "$TMP/out")"
        ! grep -rq "$MARK" "$root" 2> /dev/null || fail "$1: decoy contents copied into the tree: $(grep -rl "$MARK" "$root")"
}

# Access times: a decoy's atime is set before its mtime, so that even with relatime a read moves
# it. Whether this file system keeps atimes at all is measured on a probe file first; the content
# and steering checks run either way.
atime_probe=$TMP/atime-probe
echo probe > "$atime_probe"
touch -a -d '2001-01-01' "$atime_probe"
a0=$(stat -c %X "$atime_probe")
cat "$atime_probe" > /dev/null
atimes=no
[ "$(stat -c %X "$atime_probe")" = "$a0" ] || atimes=yes
echo "note: this file system updates access times on read: $atimes"

new_decoy() {
        rm -rf "$decoy"
        mkdir -p "$decoy"
        # Drop-ins that would switch the profile (steer) or fail naming a key (mark) if read.
        printf '[IOMMU]\nProfile=strict\n' > "$decoy/steer.conf"
        printf '[IOMMU]\n%s=1\n' "$MARK" > "$decoy/mark.conf"
        # A profile that would put the marker into the boot files if read.
        printf '[Profile]\nDescription=%s\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt %s.steer=1\n' \
                "$MARK" "$MARK" > "$decoy/gpu-sriov.conf"
        printf '[Profile]\nDescription=%s\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt\n' "$MARK" \
                > "$decoy/evilinc.conf"
        # A boot entry and a GRUB drop-in that status would print if read.
        printf 'title %s\nversion 9.9\nlinux /vmlinuz-%s\noptions root=/dev/%s intel_iommu=off\n' "$MARK" "$MARK" "$MARK" \
                > "$decoy/entry.conf"
        printf 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s=1"\nGRUB_DEFAULT=%s\n' "$MARK" "$MARK" > "$decoy/grub.cfg"
        mkdir -p "$decoy/etc-iommu"
        printf '[IOMMU]\nProfile=%s\n' "$MARK" > "$decoy/etc-iommu/iommu.conf"
        find "$decoy" -type f -exec touch -a -d '2001-01-01' {} +
}

decoy_atimes() {
        find "$decoy" -type f -printf '%p %A@\n' | sort
}

# never_read WHAT: no decoy file was read (where access times are kept).
never_read() {
        [ "$atimes" = yes ] || return 0
        [ "$(decoy_atimes)" = "$atimes_before" ] || {
                diff <(echo "$atimes_before") <(decoy_atimes) >&2 || true
                fail "$1: a decoy outside the root was read"
        }
}

rel_target() {
        realpath -m --relative-to="$(dirname "$1")" "$2"
}

# link KIND TARGET LINK: an absolute or a relative (climbing out of the root) symlink.
link() {
        if [ "$1" = abs ]; then ln -s "$2" "$3"; else ln -s "$(rel_target "$3" "$2")" "$3"; fi
}

# ---------------------------------------------------------------------------------------------
# 1. Drop-ins in etc/iommu/iommu.conf.d/ pointing out of the root: ignored, named, never read.
for kind in abs rel; do
        new_decoy
        fresh rhel9-bls-grub "$root"
        mkdir -p "$root/etc/iommu/iommu.conf.d"
        printf '[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n' > "$root/etc/iommu/iommu.conf"
        link $kind "$decoy/steer.conf" "$root/etc/iommu/iommu.conf.d/50-steer.conf"
        link $kind "$decoy/mark.conf" "$root/etc/iommu/iommu.conf.d/60-mark.conf"
        atimes_before=$(decoy_atimes)
        for verb in config plan status profiles; do
                run "$IOMMUCTL" "$verb" --root "$root"
                no_mark "$verb with symlinked drop-ins ($kind)"
                [ "$verb" = profiles ] && continue
                for f in 50-steer.conf 60-mark.conf; do
                        grep -q "Ignoring .*iommu.conf.d/$f: it is a symlink to" "$TMP/out" ||
                                fail "$verb: the ignored drop-in $f is not named ($kind): $(cat "$TMP/out")"
                done
        done
        run "$IOMMUCTL" apply --root "$root"
        [ "$rc" = 0 ] || fail "apply with symlinked drop-ins ($kind): exit $rc: $(cat "$TMP/out")"
        no_mark "apply with symlinked drop-ins ($kind)"
        grep -q "Ignoring .*50-steer.conf" "$TMP/out" || fail "apply does not name the ignored drop-in ($kind)"
        # Not steered: the profile of iommu.conf (gpu-sriov: iommu=pt), not strict's tokens.
        e=$(ls "$root"/boot/loader/entries/*5.14*.conf)
        grep -q "iommu=pt" "$e" || fail "apply ($kind): gpu-sriov's tokens not written: $(cat "$e")"
        ! grep -q "iommu.strict=1" "$e" || fail "apply ($kind): steered to the decoy's profile: $(cat "$e")"
        never_read "drop-ins symlinked out ($kind)"
done
ok "acceptance: symlinked drop-ins in etc/iommu/iommu.conf.d/ pointing outside (absolute, relative): ignored, named, never read, not steering"

# The whole etc/iommu a symlink out of the root: its iommu.conf is not the tree's.
for kind in abs rel; do
        new_decoy
        fresh rhel9-bls-grub "$root"
        link $kind "$decoy/etc-iommu" "$root/etc/iommu"
        atimes_before=$(decoy_atimes)
        run "$IOMMUCTL" apply --root "$root"
        [ "$rc" = 2 ] || fail "apply with etc/iommu symlinked out ($kind): exit $rc, expected no profile: $(cat "$TMP/out")"
        grep -q "No profile selected" "$TMP/out" || fail "etc/iommu symlinked out ($kind): $(cat "$TMP/out")"
        no_mark "apply with etc/iommu symlinked out ($kind)"
        never_read "etc/iommu symlinked out ($kind)"
done
ok "etc/iommu symlinked out of the root: its iommu.conf is never read (no profile selected)"

# ---------------------------------------------------------------------------------------------
# 2. Profiles in etc/iommu/profiles/ pointing out: the shipped profile is used, the link named.
for kind in abs rel; do
        new_decoy
        fresh rhel9-bls-grub "$root"
        mkdir -p "$root/etc/iommu/profiles"
        link $kind "$decoy/gpu-sriov.conf" "$root/etc/iommu/profiles/gpu-sriov.conf"
        link $kind "$decoy/evilinc.conf" "$root/etc/iommu/profiles/evilinc.conf"
        printf '[Profile]\nInclude=evilinc\n' > "$root/etc/iommu/profiles/usesinc.conf"
        atimes_before=$(decoy_atimes)
        run "$IOMMUCTL" profiles --root "$root"
        no_mark "profiles with symlinked profiles ($kind)"
        grep -q "Ignoring .*profiles/gpu-sriov.conf: it is a symlink to" "$TMP/out" ||
                fail "profiles: the symlinked profile is not named ($kind): $(cat "$TMP/out")"
        run "$IOMMUCTL" apply --root "$root" --profile usesinc --vendor intel --dry-run
        [ "$rc" = 2 ] || fail "Include= of a profile symlinked out ($kind): exit $rc: $(cat "$TMP/out")"
        no_mark "Include= of a symlinked profile ($kind)"
        run "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor intel
        [ "$rc" = 0 ] || fail "apply with a symlinked profile ($kind): exit $rc: $(cat "$TMP/out")"
        no_mark "apply with a symlinked profile ($kind)"
        grep -q "Ignoring .*gpu-sriov.conf" "$TMP/out" || fail "apply does not name the ignored profile ($kind)"
        grep -q "iommu=pt" "$root"/boot/loader/entries/*5.14*.conf || fail "apply ($kind): shipped gpu-sriov not written"
        never_read "profiles symlinked out ($kind)"
done
ok "profiles (and an Include=d profile) symlinked out of the root: ignored, named, never read; the shipped profile is used"

# ---------------------------------------------------------------------------------------------
# 3. Boot loader entries and GRUB drop-ins pointing out: status, plan, apply never show them.
for kind in abs rel; do
        new_decoy
        fresh rhel9-bls-grub "$root"
        link $kind "$decoy/entry.conf" "$root/boot/loader/entries/zz-evil.conf"
        atimes_before=$(decoy_atimes)
        for args in "status" "status --json" "plan --profile gpu-sriov --vendor intel" \
                    "apply --dry-run --profile gpu-sriov --vendor intel" "apply --profile gpu-sriov --vendor intel" \
                    "rollback"; do
                # shellcheck disable=SC2086
                run "$IOMMUCTL" $args --root "$root"
                no_mark "$args with an entry symlinked out ($kind)"
        done
        [ -L "$root/boot/loader/entries/zz-evil.conf" ] || fail "the symlinked entry was replaced ($kind)"
        never_read "entry symlinked out ($kind)"

        new_decoy
        fresh debian-grub-dropins "$root"
        link $kind "$decoy/grub.cfg" "$root/etc/default/grub.d/70-evil.cfg"
        atimes_before=$(decoy_atimes)
        for args in "status" "status --json" "apply --dry-run --profile gpu-sriov --vendor intel" \
                    "apply --no-bootloader-update --profile gpu-sriov --vendor intel" "rollback --no-bootloader-update"; do
                # shellcheck disable=SC2086
                run "$IOMMUCTL" $args --root "$root"
                no_mark "$args with a GRUB drop-in symlinked out ($kind)"
        done
        never_read "GRUB drop-in symlinked out ($kind)"
done
ok "boot/loader/entries and /etc/default/grub.d members symlinked out: never shown by status/plan/apply/rollback, never read"

# ---------------------------------------------------------------------------------------------
# 4. A root path with '[', '*' and '?' is a name, not a pattern: the same result as a plain one.
plain="$TMP/plain"
odd="$TMP/we[i]rd*?dir"
for fixture in debian-grub-dropins rhel9-bls-grub systemd-boot-esp; do
        fresh "$fixture" "$plain"
        fresh "$fixture" "$odd"
        vendor=intel
        [ "$fixture" != systemd-boot-esp ] || vendor=portable
        for r in "$plain" "$odd"; do
                run "$IOMMUCTL" apply --no-bootloader-update --profile gpu-sriov --vendor $vendor --root "$r"
                [ "$rc" = 0 ] || fail "$fixture: apply under $r: exit $rc: $(cat "$TMP/out")"
        done
        same_tree "$plain" "$odd" || fail "$fixture: a root path with [*? gives another result than a plain one"
        run "$IOMMUCTL" status --json --profile gpu-sriov --vendor $vendor --root "$plain"
        sed "s|$plain||g" "$TMP/out" > "$TMP/status-plain"
        run "$IOMMUCTL" status --json --profile gpu-sriov --vendor $vendor --root "$odd"
        sed "s|$(printf '%s' "$odd" | sed 's/[][*?.]/\\&/g')||g" "$TMP/out" > "$TMP/status-odd"
        cmp -s "$TMP/status-plain" "$TMP/status-odd" || {
                diff "$TMP/status-plain" "$TMP/status-odd" >&2 || true
                fail "$fixture: status under a root path with [*? differs"
        }
done
# The drop-in that sets amd_iommu=off was rewritten under the odd root too (a glob on the root
# path matched nothing and skipped it).
! grep -q "amd_iommu=off" "$odd/etc/default/grub.d/50-cloudimg-settings.cfg" 2> /dev/null ||
        fail "GRUB drop-ins under a root path with [*? were skipped"
ok "a root path with '[', '*' and '?' gives the same files and status as a plain one"

echo "$n_ok hostile read checks passed"
