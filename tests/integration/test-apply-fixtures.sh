#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# For every fixture tree: apply gives the expected files byte for byte and keeps modes; a second
# apply changes nothing (mtimes and inodes unchanged); rollback restores the input byte for byte;
# --dry-run prints a diff and writes nothing.
. "$(dirname "$0")/apply-lib.sh"

n=0
for dir in "$FIXTURES"/*/; do
        name=$(basename "$dir")
        read -r -a args < "$dir/args"
        root="$TMP/$name"
        echo "== $name: ${args[*]}"

        # --dry-run: a unified diff on stdout, nothing written, not even the journal.
        fresh "$name" "$root"
        before=$(stamps "$root")
        "$IOMMUCTL" apply --root "$root" "${args[@]}" --dry-run > "$TMP/diff" || fail "$name: dry-run failed"
        grep -q '^+++ b/' "$TMP/diff" || fail "$name: dry-run printed no diff"
        grep -q '^@@ ' "$TMP/diff" || fail "$name: dry-run printed no hunk"
        same_tree "$FIXTURES/$name/input" "$root" || fail "$name: dry-run changed the tree"
        [ ! -e "$root/var" ] || fail "$name: dry-run wrote $root/var"
        [ "$before" = "$(stamps "$root")" ] || fail "$name: dry-run touched a file"
        # The diff, applied with patch, gives the expected tree.
        (cd "$root" && patch -s -p1 < "$TMP/diff") || fail "$name: the dry-run diff does not apply"
        same_tree "$FIXTURES/$name/expected" "$root" || fail "$name: the dry-run diff does not give expected/"

        # apply: modes kept (every file made 0640 first), expected files byte for byte.
        fresh "$name" "$root"
        find "$root" -type f -exec chmod 0640 {} +
        "$IOMMUCTL" apply --root "$root" "${args[@]}" > "$TMP/out" || fail "$name: apply failed"
        cat "$TMP/out"
        grep -Eq '^(modified|created) ' "$TMP/out" || fail "$name: apply reported no file"
        same_tree "$FIXTURES/$name/expected" "$root" || fail "$name: result differs from expected/"
        for f in $(cd "$FIXTURES/$name/input" && find . -type f); do
                [ "$(stat -c %a "$root/$f")" = 640 ] || fail "$name: $f lost its mode ($(stat -c %a "$root/$f"))"
        done
        for f in $(cd "$root" && find . -type f -name 'grubenv'); do
                [ "$(stat -c %s "$root/$f")" = 1024 ] || fail "$name: $f is not a 1024-byte environment block"
        done

        # apply again: nothing to change, no file rewritten.
        before=$(stamps "$root")
        sleep 0.01
        "$IOMMUCTL" apply --root "$root" "${args[@]}" > "$TMP/out" 2> "$TMP/err" || fail "$name: second apply failed"
        [ ! -s "$TMP/out" ] || fail "$name: second apply reported changes: $(cat "$TMP/out")"
        grep -q 'Nothing to change' "$TMP/err" || fail "$name: second apply did not say nothing changed"
        [ "$before" = "$(stamps "$root")" ] || fail "$name: second apply rewrote a file"
        [ "$(ls "$root/var/lib/iommu/changesets")" = 00000001 ] || fail "$name: second apply recorded a change set"

        # rollback: the input, byte for byte, modes included.
        "$IOMMUCTL" rollback --root "$root" > "$TMP/out" || fail "$name: rollback failed"
        grep -Eq '^(restored|removed) ' "$TMP/out" || fail "$name: rollback reported no file"
        same_tree "$FIXTURES/$name/input" "$root" || fail "$name: rollback did not restore the input"
        for f in $(cd "$FIXTURES/$name/input" && find . -type f); do
                [ "$(stat -c %a "$root/$f")" = 640 ] || fail "$name: rollback lost the mode of $f"
        done
        # A second rollback has nothing left to do and changes nothing.
        before=$(stamps "$root")
        "$IOMMUCTL" rollback --root "$root" > "$TMP/out" 2>&1 || fail "$name: second rollback failed"
        grep -q 'Nothing to roll back' "$TMP/out" || fail "$name: second rollback did something: $(cat "$TMP/out")"
        [ "$before" = "$(stamps "$root")" ] || fail "$name: second rollback touched a file"

        # --json describes the change set.
        "$IOMMUCTL" apply --root "$root" "${args[@]}" --json > "$TMP/json" 2>/dev/null || fail "$name: apply --json failed"
        grep -q '"changed": true' "$TMP/json" || fail "$name: --json did not say changed"
        grep -q '"changeset": 2' "$TMP/json" || fail "$name: --json has the wrong change set id"
        n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "only $n fixture trees found"

# --entries GLOB (what a kernel-install plugin passes for the entry it just wrote): only that
# entry changes (plus /etc/kernel/cmdline).
root="$TMP/glob"
fresh systemd-boot-esp "$root"
"$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor portable --entries '*-6.1.0-21-amd64.conf' > "$TMP/out" 2>/dev/null ||
        fail "apply --entries GLOB failed"
[ "$(grep -c 'loader/entries' "$TMP/out")" = 1 ] || fail "--entries GLOB changed: $(cat "$TMP/out")"
e=efi/loader/entries/0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6
cmp -s "$root/$e-6.1.0-21-amd64.conf" "$FIXTURES/systemd-boot-esp/expected/$e-6.1.0-21-amd64.conf" || fail "GLOB: entry not updated"
cmp -s "$root/$e-6.1.0-18-amd64.conf" "$FIXTURES/systemd-boot-esp/input/$e-6.1.0-18-amd64.conf" || fail "GLOB: other entry changed"
echo "OK: $n fixture trees"
