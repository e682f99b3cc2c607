#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One escaping rule for text from the tree (escape.h) and UTF-8-valid JSON (json.c): terminal
# escapes and invalid UTF-8 in a boot entry's file name, in an entry's options, in iommu.conf keys
# and in /proc/cmdline never reach the output raw, from apply, --dry-run diffs, rollback, status,
# plan, config, verify and error messages; every --json document parses with python3's strict json
# and is valid UTF-8. Needs IOMMUCTL and SRCDIR.
. "$(dirname "$0")/apply-lib.sh"
HOSTS=$SRCDIR/tests/fixtures/hosts

# A name that retitles the terminal, clears it, holds a C1 CSI (valid UTF-8 U+009B) and two bytes
# that are not UTF-8 (0xff, a lone 0x9b), next to valid UTF-8 that must stay as it is.
EVIL=$'\e]0;pwned\a\e[2J\xc2\x9b\xff\x9bvoil\xc3\xa0'
EVIL_SHOWN='\x1b]0;pwned\x07\x1b[2J\xc2\x9b\xff\x9bvoilà'

# check_text WHAT FILE: no control byte but newline and tab, valid UTF-8, no C1 control.
check_text() {
        python3 - "$2" <<'PY' || fail "$1: raw control bytes or invalid UTF-8 in the output: $(od -c "$2" | head -20)"
import sys
b = open(sys.argv[1], "rb").read()
bad = [c for c in b if (c < 0x20 and c not in (0x09, 0x0a)) or c == 0x7f]
assert not bad, bad
t = b.decode("utf-8")  # strict
assert not any(0x80 <= ord(ch) <= 0x9f for ch in t)
PY
}
# check_json WHAT FILE: one strict JSON document, valid UTF-8.
check_json() {
        python3 - "$2" <<'PY' || fail "$1: not strict JSON in valid UTF-8: $(head -c 2000 "$2")"
import json, sys
b = open(sys.argv[1], "rb").read()
json.loads(b.decode("utf-8"), strict=True)
PY
}
# run WHAT FILE ARGS...: iommuctl ARGS, stdout and stderr to FILE; sets $rc.
run() {
        local what=$1 file=$2
        shift 2
        rc=0
        "$IOMMUCTL" "$@" > "$file" 2>&1 || rc=$?
        check_text "$what" "$file"
}
# run_json WHAT FILE ARGS...: stdout to FILE (checked as JSON), stderr to FILE.err (checked as text).
# With --allow-empty last: an empty stdout (a refusal) passes too.
run_json() {
        local what=$1 file=$2 empty=
        shift 2
        [ "${*: -1}" = --allow-empty ] && { empty=1; set -- "${@:1:$#-1}"; }
        rc=0
        "$IOMMUCTL" "$@" > "$file" 2> "$file.err" || rc=$?
        [ -n "$empty" ] && [ ! -s "$file" ] || check_json "$what" "$file"
        check_text "$what (stderr)" "$file.err"
}
shows() { # shows WHAT FILE: the escaped name is there, so it was printed, not dropped
        grep -qF -- "$EVIL_SHOWN" "$2" || fail "$1 does not show the name escaped: $(cat "$2")"
}

IMG=$TMP/img
fresh systemd-boot-esp "$IMG"
E=$IMG/efi/loader/entries
OLD=0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-18-amd64
mv "$E/$OLD.conf" "$E/$OLD$EVIL.conf"
# An options token of the entry with an escape and a byte that is not UTF-8: kept by apply,
# shown escaped by the diff.
TAG=$'site.tag=red\e[31m\xfe'
sed -i "s/quiet splash/quiet splash ${TAG//[/\\[}/" "$E/$OLD$EVIL.conf"
grep -q $'site.tag=red\e\\[31m\xfe' "$E/$OLD$EVIL.conf" || fail "fixture: the options token was not planted"
mkdir -p "$IMG/etc/iommu"
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=portable\n' > "$IMG/etc/iommu/iommu.conf"
cp -a "$IMG" "$TMP/before"

run "apply --dry-run" "$TMP/out" apply --root "$IMG" --dry-run
[ "$rc" = 0 ] || fail "apply --dry-run: exit $rc: $(cat "$TMP/out")"
shows "apply --dry-run" "$TMP/out"
grep -qF 'site.tag=red\x1b[31m\xfe' "$TMP/out" || fail "the diff does not show the options token escaped: $(cat "$TMP/out")"
echo "ok: apply --dry-run shows names and lines escaped"

run_json "apply --dry-run --json" "$TMP/out" apply --root "$IMG" --dry-run --json
[ "$rc" = 0 ] || fail "apply --dry-run --json: exit $rc"
python3 - "$TMP/out" "$OLD" <<'PY' || fail "apply --json does not name the entry with its bytes escaped by the JSON rule: $(cat "$TMP/out")"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
paths = [c["path"] for c in d["files"]]
want = "/efi/loader/entries/" + sys.argv[2] + "\x1b]0;pwned\x07\x1b[2J\u009b\\xff\\x9bvoilà.conf"
assert want in paths, (want, paths)
PY
echo "ok: apply --json: control characters as \\u escapes, bytes that are not UTF-8 as \\\\xNN"

run "apply" "$TMP/out" apply --root "$IMG"
[ "$rc" = 0 ] || fail "apply: exit $rc: $(cat "$TMP/out")"
shows "apply" "$TMP/out"
grep -q $'site.tag=red\e\\[31m\xfe intel_iommu=on' "$E/$OLD$EVIL.conf" || fail "apply did not keep the token's bytes: $(cat -v "$E/$OLD$EVIL.conf")"
echo "ok: apply prints the changed files escaped and keeps their bytes"

run "status" "$TMP/out" status --root "$IMG"
shows "status" "$TMP/out"
run_json "status --json" "$TMP/out" status --root "$IMG" --json
grep -qF 'pwned' "$TMP/out" || fail "status --json does not list the entry"
echo "ok: status, text and JSON"

run "rollback --dry-run" "$TMP/out" rollback --root "$IMG" --dry-run
[ "$rc" = 0 ] || fail "rollback --dry-run: exit $rc: $(cat "$TMP/out")"
shows "rollback --dry-run" "$TMP/out"
run "rollback" "$TMP/out" rollback --root "$IMG"
[ "$rc" = 0 ] || fail "rollback: exit $rc: $(cat "$TMP/out")"
shows "rollback" "$TMP/out"
same_tree "$TMP/before" "$IMG" > /dev/null || fail "rollback did not restore the tree"
echo "ok: rollback, dry run and real"

# An error naming the file: an unterminated quote in the entry with the crafted name.
cp "$E/$OLD$EVIL.conf" "$TMP/entry"
sed -i 's/^options    root=/options    "root=/' "$E/$OLD$EVIL.conf"
run "apply on a broken entry" "$TMP/out" apply --root "$IMG"
[ "$rc" != 0 ] || fail "apply accepted an unterminated quote"
shows "the error message" "$TMP/out"
cp "$TMP/entry" "$E/$OLD$EVIL.conf"
echo "ok: the error message names the file escaped"

# iommu.conf: a key with an escape sequence and a byte that is not UTF-8.
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=portable\nEv\033[31mil\377=1\n' > "$IMG/etc/iommu/iommu.conf"
for verb in config "apply --dry-run" status plan; do
        # shellcheck disable=SC2086
        run "$verb with a crafted iommu.conf key" "$TMP/out" $verb --root "$IMG"
        grep -qF 'Ev\x1b[31mil\xff' "$TMP/out" || fail "$verb does not name the key escaped: $(cat "$TMP/out")"
done
# --json: the refusal is on stderr, by the text rule; stdout holds no half document.
run_json "config --json with a crafted key" "$TMP/out" config --root "$IMG" --json --allow-empty
grep -qF 'Ev\x1b[31mil\xff' "$TMP/out.err" || fail "config --json does not name the key escaped: $(cat "$TMP/out.err")"
echo "ok: iommu.conf keys in messages"

# /proc/cmdline with an escape, a C1 control and bytes that are not UTF-8: verify and plan.
HOST=$TMP/host
cp -a "$HOSTS/synthetic-hgx-h100/root" "$HOST"
printf 'root=/dev/sda1 ro intel_iommu=on iommu=pt x=\033[2J\302\233\377 voil\303\240\n' > "$HOST/proc/cmdline"
run "verify" "$TMP/out" verify --no-journal --profile gpu-sriov --root "$HOST" --kernel-log "$HOSTS/synthetic-hgx-h100/kmsg.txt"
grep -qF 'x=\x1b[2J\xc2\x9b\xff voilà' "$TMP/out" || fail "verify does not show /proc/cmdline escaped: $(cat "$TMP/out")"
run_json "verify --json" "$TMP/out" verify --no-journal --profile gpu-sriov --root "$HOST" \
        --kernel-log "$HOSTS/synthetic-hgx-h100/kmsg.txt" --json
python3 - "$TMP/out" <<'PY' || fail "verify --json: /proc/cmdline not by the JSON rule: $(cat "$TMP/out")"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
json.loads(text)
assert "x=\\u001b[2J\\u009b\\\\xff voilà" in text, "rule"
PY
run "plan" "$TMP/out" plan --profile gpu-sriov --root "$HOST"
grep -qF 'x=\x1b[2J\xc2\x9b\xff' "$TMP/out" || fail "plan does not show the current line escaped: $(cat "$TMP/out")"
run_json "plan --json" "$TMP/out" plan --profile gpu-sriov --root "$HOST" --json
echo "ok: /proc/cmdline in verify and plan, text and JSON"
