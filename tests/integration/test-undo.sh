#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 22.3: a converging undo and a history. apply, a kernel installed afterwards through
# kernel-install's plugins (60-iommu.install, then systemd's 90-loaderentry.install, which take the
# tokens from /etc/kernel/cmdline), then "iommuctl undo": no entry or file carries the profile's
# tokens, the generator is disarmed, a second undo changes nothing, rollback undoes the undo, and
# "iommuctl history" lists every change set. Issue 22.1 on the way: status and plan say whether
# the generator is armed. Needs IOMMUCTL and SRCDIR.
. "$(dirname "$0")/apply-lib.sh"
plugin=$SRCDIR/kernel-install/60-iommu.install
loaderentry=/usr/lib/kernel/install.d/90-loaderentry.install
[ -x "$loaderentry" ] || fail "$loaderentry missing (apt-get install systemd)"
export PATH=$(dirname "$IOMMUCTL"):$PATH
export KERNEL_INSTALL_MACHINE_ID=0123456789abcdef0123456789abcdef KERNEL_INSTALL_ENTRY_TOKEN=debian KERNEL_INSTALL_VERBOSE=0

root=$TMP/root
mkdir -p "$root/etc/iommu" "$root/etc/kernel" "$root/proc" "$root/boot/loader/entries"
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n' > "$root/etc/iommu/iommu.conf"
echo "root=/dev/vda1 ro quiet" > "$root/etc/kernel/cmdline"
echo "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet" > "$root/proc/cmdline"
cat > "$root/boot/loader/entries/debian-6.1.0-18-amd64.conf" <<EOT
title      Debian GNU/Linux 12
version    6.1.0-18-amd64
linux      /debian/6.1.0-18-amd64/linux
options    root=/dev/vda1 ro quiet
EOT
echo fake-kernel > "$TMP/vmlinuz"
cp -a "$root" "$TMP/pristine"

carrying() { # the entries and files of status --json that carry a token of gpu-sriov
        "$IOMMUCTL" status --root "$root" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for e in d["entries"]:
    if e["carries_profile"] or any(t in (e["options"] or "").split() for t in ("intel_iommu=on", "iommu=pt")):
        print(e["path"])'
}
armed() { "$IOMMUCTL" status --root "$root" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["generator"]["armed"])'; }

# Not armed before apply: the configuration alone arms nothing.
[ "$(armed)" = False ] || fail "armed before apply"
"$IOMMUCTL" plan --root "$root" | grep -q '^Generator: not armed: profile gpu-sriov was never applied on this node' ||
        fail "plan does not say the generator is not armed"

"$IOMMUCTL" apply --root "$root" > "$TMP/out" 2>&1 || fail "apply: $(cat "$TMP/out")"
[ "$(armed)" = True ] || fail "not armed after apply"
"$IOMMUCTL" status --root "$root" | grep -q '^Generator: armed: profile gpu-sriov was applied on this node' ||
        fail "status does not say the generator is armed"

# A kernel installed after apply: the plugin's entry carries the tokens.
kver=6.1.0-99-amd64
mkdir -p "$root/boot/debian/$kver" "$TMP/staging"
for p in "$plugin" "$loaderentry"; do
        env IOMMU_ROOT="$root" KERNEL_INSTALL_LAYOUT=bls KERNEL_INSTALL_CONF_ROOT="$root/etc/kernel" \
                KERNEL_INSTALL_BOOT_ROOT="$root/boot" KERNEL_INSTALL_STAGING_AREA="$TMP/staging" \
                "$p" add "$kver" "$root/boot/debian/$kver" "$TMP/vmlinuz" > "$TMP/out" 2>&1 || fail "$p: $(cat "$TMP/out")"
done
new=$root/boot/loader/entries/debian-$kver.conf
grep -q '^options .*intel_iommu=on iommu=pt' "$new" || fail "the new kernel's entry lacks the tokens: $(cat "$new")"
[ "$(carrying | wc -l)" = 3 ] || fail "before undo, expected 3 entries and files with the tokens: $(carrying)"
echo "ok: apply, then a kernel installed with the plugin: 3 entries and files carry the profile"

# undo --dry-run: a diff, nothing written.
cp -a "$root" "$TMP/before-undo"
"$IOMMUCTL" undo --root "$root" --dry-run > "$TMP/diff" || fail "undo --dry-run failed"
grep -q "^+++ b/boot/loader/entries/debian-$kver.conf" "$TMP/diff" || fail "undo --dry-run misses the new entry: $(cat "$TMP/diff")"
diff -r "$TMP/before-undo" "$root" > /dev/null || fail "undo --dry-run changed the tree"

"$IOMMUCTL" undo --root "$root" > "$TMP/out" 2>&1 || fail "undo: $(cat "$TMP/out")"
[ -z "$(carrying)" ] || fail "after undo, still carrying the tokens: $(carrying)"
diff -r -x var "$TMP/pristine/boot/loader/entries/debian-6.1.0-18-amd64.conf" "$root/boot/loader/entries/debian-6.1.0-18-amd64.conf" ||
        fail "undo did not restore the pre-profile entry"
[ "$(cat "$root/etc/kernel/cmdline")" = "root=/dev/vda1 ro quiet" ] || fail "/etc/kernel/cmdline: $(cat "$root/etc/kernel/cmdline")"
grep -q '^options    root=/dev/vda1 ro quiet$\|^options root=/dev/vda1 ro quiet$' "$new" || fail "new entry after undo: $(cat "$new")"
[ ! -e "$root/etc/iommu/applied" ] && [ "$(armed)" = False ] || fail "undo left the generator armed"
echo "ok: undo: status --json shows no entry carrying the profile's tokens, the generator is disarmed"

# Idempotent: the second undo changes nothing and commits nothing.
cp -a "$root" "$TMP/after-undo"
sets=$(ls "$root/var/lib/iommu/changesets")
"$IOMMUCTL" undo --root "$root" > "$TMP/out" 2>&1 || fail "second undo: $(cat "$TMP/out")"
grep -q 'Nothing to undo' "$TMP/out" || fail "second undo did something: $(cat "$TMP/out")"
diff -r "$TMP/after-undo" "$root" > /dev/null || fail "second undo changed the tree"
[ "$(ls "$root/var/lib/iommu/changesets")" = "$sets" ] || fail "second undo recorded a change set"
"$IOMMUCTL" undo --root "$root" --json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["verb"] == "undo" and d["changed"] is False and d["files"] == [], d' ||
        fail "undo --json after undo"
echo "ok: a second undo changes nothing"

# history: every set with time, verb, profile and files.
"$IOMMUCTL" history --root "$root" --json > "$TMP/history" || fail "history --json failed"
python3 - "$TMP/history" "$kver" <<'PY' || fail "history --json: $(cat "$TMP/history")"
import json, sys
d = json.load(open(sys.argv[1]))
sets = d["changesets"]
assert d["version"] == 1
assert [s["verb"] for s in sets] == ["apply", "undo"], sets
assert all(s["profile"] == "gpu-sriov" and s["state"] == "complete" and s["time"].endswith("Z") for s in sets), sets
undo = {f["path"]: f["action"] for f in sets[1]["files"]}
assert undo["/boot/loader/entries/debian-%s.conf" % sys.argv[2]] == "modified", undo
assert undo["/etc/iommu/applied"] == "removed", undo
assert undo["/etc/kernel/cmdline"] == "modified", undo
PY
"$IOMMUCTL" history --root "$root" | grep -Eq '^00000002  [0-9T:-]+Z +complete +undo +gpu-sriov +4$' ||
        fail "history text: $("$IOMMUCTL" history --root "$root")"
echo "ok: history lists the apply and the undo"

# rollback undoes the undo, journaled like any change.
"$IOMMUCTL" rollback --root "$root" > "$TMP/out" 2>&1 || fail "rollback of the undo: $(cat "$TMP/out")"
[ "$(carrying | wc -l)" = 3 ] || fail "rollback of the undo did not restore the tokens: $(carrying)"
[ "$(armed)" = True ] || fail "rollback of the undo did not re-arm"
"$IOMMUCTL" history --root "$root" --json | python3 -c 'import json, sys; s = json.load(sys.stdin)["changesets"]; assert s[1]["state"] == "rolled-back", s' ||
        fail "history does not show the undo rolled back"
echo "ok: rollback restores what undo removed"
