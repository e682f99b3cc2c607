#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The journal's promises, through the command line: a damaged journal is refused with its file
# named (exit 2), never a crash, and the tree can be applied to afterwards; extended attributes
# and POSIX ACLs of a boot file survive apply and rollback.
set -euo pipefail
. "$(dirname "$0")/apply-lib.sh"

root=$TMP/root
entry=$root/efi/loader/entries/0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-21-amd64.conf
a="--profile gpu-sriov --vendor intel"

# 1. A NUL byte in a journal line of the last change set.
fresh systemd-boot-esp "$root"
"$IOMMUCTL" apply --root "$root" $a > /dev/null 2>&1 || fail "apply failed"
journal=$(find "$root/var/lib/iommu/changesets" -name journal | sort | tail -n 1)
[ -f "$journal" ] || fail "no journal after apply"
# Into the second line (the first item's manifest line), not only at the end.
python3 - "$journal" <<'PY'
import sys
p = sys.argv[1]
b = open(p, "rb").read()
i = b.index(b"\n") + 3
open(p, "wb").write(b[:i] + b"x\0y" + b[i:])
PY
rc=0
"$IOMMUCTL" rollback --root "$root" > "$TMP/out" 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "rollback of a journal with a NUL byte exited $rc: $(cat "$TMP/err")"
grep -q "changesets/[0-9]*/journal" "$TMP/err" || fail "the refusal does not name the journal: $(cat "$TMP/err")"
grep -q "NUL byte" "$TMP/err" || fail "the refusal does not say what is wrong: $(cat "$TMP/err")"
# The same appended at the end.
printf 'x\0y' >> "$journal"
rc=0
"$IOMMUCTL" rollback --root "$root" > "$TMP/out" 2> "$TMP/err" || rc=$?
[ $rc = 2 ] || fail "rollback of a journal with 'x\\0y' appended exited $rc"
grep -q "changesets/[0-9]*/journal" "$TMP/err" || fail "the refusal does not name the journal: $(cat "$TMP/err")"
# apply still works on that tree.
"$IOMMUCTL" apply --root "$root" --profile strict --vendor intel > "$TMP/out" 2> "$TMP/err" ||
        fail "apply after a damaged journal failed: $(cat "$TMP/err")"
grep -q 'iommu.strict=1' "$entry" || fail "apply after a damaged journal did not write the strict line"
echo "ok: a damaged journal is refused with its name, and apply still works"

# 2. Extended attributes and an ACL, after apply and after rollback.
if ! command -v setfattr > /dev/null || ! command -v setfacl > /dev/null; then
        fail "setfattr/setfacl missing (packages attr, acl)"
fi
fresh systemd-boot-esp "$root"
setfattr -n user.test -v 1 "$entry"
setfacl -m u:nobody:r "$entry"
check_attrs() {
        getfattr -d --absolute-names "$entry" | grep -qx 'user.test="1"' || fail "$1: user.test lost: $(getfattr -d "$entry")"
        getfacl -c --absolute-names "$entry" 2> /dev/null | grep -qx 'user:nobody:r--' || fail "$1: ACL lost: $(getfacl -c "$entry")"
}
"$IOMMUCTL" apply --root "$root" $a > /dev/null 2> "$TMP/err" || fail "apply failed: $(cat "$TMP/err")"
grep -q 'intel_iommu=on' "$entry" || fail "apply did not change the entry"
check_attrs "after apply"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2> "$TMP/err" || fail "rollback failed: $(cat "$TMP/err")"
grep -q 'intel_iommu=on' "$entry" && fail "rollback did not restore the entry"
check_attrs "after rollback"
same_tree "$FIXTURES/systemd-boot-esp/input" "$root" || fail "rollback did not restore the contents"
echo "ok: user.test and the ACL survive apply and rollback"
