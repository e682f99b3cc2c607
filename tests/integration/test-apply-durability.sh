#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What makes an apply durable, observed from outside:
# 1. Under strace, a first apply into a tree without /var fsyncs the directory above each
#    directory it makes (/, /var, /var/lib, /var/lib/iommu, and /etc for /etc/iommu), those of the
#    journal before the first boot file is renamed; a second apply on the same tree makes none of
#    them, and fsyncs each written file, each of their directories and the journal (file, set
#    directory, changesets/) once: the "complete" mark has no fsync of its own.
# 2. A set whose "complete" mark was lost (a crash after its files were written) is marked
#    complete by the next run (rolled forward), and rollback still restores the old files.
# 3. One whose mark was lost with one file still old (its rename lost) is rolled back.
# 4. A set without its mark that is not the newest is complete, and left alone.
set -euo pipefail
. "$(dirname "$0")/apply-lib.sh"
command -v strace > /dev/null || fail "strace is missing (package strace)"

fixture=systemd-boot-esp
in=$FIXTURES/$fixture/input
exp=$FIXTURES/$fixture/expected
read -r -a args < "$FIXTURES/$fixture/args"
root=$TMP/root
sets=$root/var/lib/iommu/changesets

state_of() { # ID: the set's state in history --json
        "$IOMMUCTL" history --root "$root" --json | python3 -c '
import json, sys
s = [c for c in json.load(sys.stdin)["changesets"] if c["id"] == int(sys.argv[1])]
print(s[0]["state"] if s else "none", "time" if s and s[0]["time"] else "notime")' "$1"
}

# 1. The fsyncs, under strace.
fresh "$fixture" "$root"
[ ! -e "$root/var" ] && [ ! -e "$root/etc/iommu" ] || fail "$fixture: expected a tree without /var and /etc/iommu"
trace() {
        # LeakSanitizer cannot run under ptrace (the ASan build): leaks are checked by the runs below.
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -y -qq -e trace=fsync,fdatasync,mkdir,mkdirat,rename,renameat,renameat2 -o "$TMP/strace" \
                "$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2> "$TMP/err" || fail "apply under strace: $(cat "$TMP/err")"
}
check_trace() { # first|second
        python3 - "$TMP/strace" "$root" "$1" <<'PY' || fail "strace of the $1 apply: see above"
import re, sys
log, root, which = sys.argv[1], sys.argv[2], sys.argv[3]
fsyncs, made, renames = [], [], []
for n, line in enumerate(open(log)):
    m = re.search(r'\b(fsync|fdatasync)\(\d+<([^>]*)>\)\s*=\s*0', line)
    if m:
        fsyncs.append((n, m.group(2)))
    m = re.search(r'\bmkdirat\(\d+<([^>]*)>, "([^"]+)"', line)
    if m and line.rstrip().endswith("= 0"):
        made.append((n, m.group(1), m.group(2)))
    m = re.search(r'\brenameat2?\(\d+<([^>]*)>, "[^"]*", \d+<([^>]*)>, "([^"]+)"', line)
    if m and "= 0" in line:
        renames.append((n, m.group(2), m.group(3)))
def rel(p):
    assert p == root or p.startswith(root + "/"), p
    return p[len(root):] or "/"
fsyncs = [(n, rel(p)) for n, p in fsyncs]
made = [(n, rel(p), name) for n, p, name in made]
renames = [(n, rel(p), name) for n, p, name in renames]
boot = [(n, d, name) for n, d, name in renames if not d.startswith("/var/")]
errors = []
if not boot:
    errors.append("no boot file renamed")
first_boot = boot[0][0] if boot else 0
synced_dirs = {p for n, p in fsyncs}
for n, parent, name in made:
    if parent not in synced_dirs:
        errors.append("made %s/%s but never fsynced %s" % (parent, name, parent))
    elif parent.startswith("/var") or parent == "/":
        # The journal's directories: durable before any boot file is touched.
        if not any(p == parent and k > n and k < first_boot for k, p in fsyncs):
            errors.append("%s (above the made %s) fsynced only after the first boot file was renamed" % (parent, name))
setdir = [p for n, parent, name in made if parent == "/var/lib/iommu/changesets" for p in [parent + "/" + name]]
if which == "first":
    want = {(p, nm) for p, nm in [("/", "var"), ("/var", "lib"), ("/var/lib", "iommu"), ("/var/lib/iommu", "changesets"), ("/etc", "iommu")]}
    got = {(p, nm) for n, p, nm in made}
    if not want <= got:
        errors.append("made %s, expected at least %s" % (sorted(got), sorted(want)))
else:
    for d in ["/", "/var", "/var/lib", "/var/lib/iommu", "/etc"]:
        if d in synced_dirs:
            errors.append("the second apply fsynced %s again" % d)
    if [m for m in made if m[1] != "/var/lib/iommu/changesets"]:
        errors.append("the second apply made directories: %s" % made)
# The journal: its file, its set's directory, changesets/, each once; the mark adds none.
if len(setdir) != 1:
    errors.append("expected one set directory made, got %s" % setdir)
else:
    sd = setdir[0]
    c = sum(1 for n, p in fsyncs if p == sd)
    if c != 1:
        errors.append("%s fsynced %d times, expected once (the complete mark has no fsync)" % (sd, c))
    if not any(p.startswith(sd + "/.#journal.") for n, p in fsyncs):
        errors.append("the journal file was not fsynced")
    if sum(1 for n, p in fsyncs if p == "/var/lib/iommu/changesets") != 1:
        errors.append("changesets/ not fsynced exactly once")
# Each written file fsynced (as its temporary) before its rename; each directory of one once.
for n, d, name in boot:
    tmp = [p for k, p in fsyncs if k < n and p.startswith(("%s/.#%s." % (d, name)).replace("//", "/"))]
    if not tmp:
        errors.append("%s/%s renamed without its temporary fsynced" % (d, name))
for d in {d for n, d, name in boot}:
    c = sum(1 for n, p in fsyncs if p == d and n > max(k for k, dd, nm in boot if dd == d))
    if c != 1:
        errors.append("directory %s fsynced %d times after its renames, expected once" % (d, c))
expected_total = len(boot) + 3 + len({d for n, d, name in boot})
if which == "second" and len(fsyncs) != expected_total:
    errors.append("%d fsyncs, expected %d: %s" % (len(fsyncs), expected_total, fsyncs))
for e in errors:
    print("FAIL:", e, file=sys.stderr)
print("%s apply: %d fsyncs, %d files, %d directories made" % (which, len(fsyncs), len(boot), len(made)))
sys.exit(1 if errors else 0)
PY
}
trace
check_trace first
same_tree "$exp" "$root" || fail "first apply differs from expected/"
# A second apply on the node: its entries rewritten without the IOMMU options since.
cp -a "$in/efi/loader/entries/." "$root/efi/loader/entries/"
trace
check_trace second
same_tree "$exp" "$root" || fail "second apply differs from expected/"
echo "ok: the directories above each one apply makes are fsynced once, the journal's before any boot file; the mark has no fsync"

# 2. The mark lost after every file was written: rolled forward, then rollback restores.
fresh "$fixture" "$root"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "apply failed"
[ -f "$sets/00000001/complete" ] || fail "no complete mark after apply"
rm "$sets/00000001/complete"
[ "$(state_of 1)" = "incomplete notime" ] || fail "history of the newest set without its mark: $(state_of 1)"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > "$TMP/out" 2> "$TMP/err" || fail "apply after a lost mark: $(cat "$TMP/err")"
grep -q "00000001 had written all its files.*marking it complete" "$TMP/err" || fail "no roll-forward notice: $(cat "$TMP/err")"
! grep -q "restoring" "$TMP/err" || fail "rolled back a set whose files were all written: $(cat "$TMP/err")"
same_tree "$exp" "$root" || fail "roll forward changed the files"
[ -f "$sets/00000001/complete" ] && [ "$(ls "$sets")" = 00000001 ] || fail "not marked complete, or a new set: $(ls "$sets")"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2> "$TMP/err" || fail "rollback after roll forward: $(cat "$TMP/err")"
same_tree "$in" "$root" || fail "rollback after roll forward differs from input/"
[ "$(state_of 1)" = "rolled-back time" ] || fail "history after rollback: $(state_of 1)"
# The same found by rollback itself: it rolls forward, then rolls the set back as asked.
fresh "$fixture" "$root"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "apply failed"
rm "$sets/00000001/complete"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2> "$TMP/err" || fail "rollback of a set without its mark: $(cat "$TMP/err")"
grep -q "marking it complete" "$TMP/err" || fail "rollback did not roll forward first: $(cat "$TMP/err")"
same_tree "$in" "$root" || fail "rollback of a rolled-forward set differs from input/"
echo "ok: a set whose mark was lost after all its files were written is rolled forward; rollback restores it"

# 3. The mark lost with one file still old (its rename lost): rolled back, every file old.
fresh "$fixture" "$root"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "apply failed"
rm "$sets/00000001/complete"
entry=$(cd "$in/efi/loader/entries" && ls | head -n 1)
cmp -s "$in/efi/loader/entries/$entry" "$root/efi/loader/entries/$entry" && fail "$entry: apply did not change it"
cp "$in/efi/loader/entries/$entry" "$root/efi/loader/entries/$entry"
"$IOMMUCTL" apply --root "$root" --dry-run "${args[@]}" > /dev/null 2>&1 || fail "apply --dry-run failed"
[ "$(state_of 1)" = "incomplete notime" ] || fail "a dry run finished the set: $(state_of 1)"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2> "$TMP/err" || fail "rollback of a half-written set: $(cat "$TMP/err")"
grep -q "00000001 was interrupted; restoring" "$TMP/err" || fail "no rollback warning: $(cat "$TMP/err")"
same_tree "$in" "$root" || fail "half-written set not rolled back to input/"
[ "$(state_of 1)" = "rolled-back time" ] || fail "history after the rollback: $(state_of 1)"
echo "ok: a set whose mark was lost with a file still old is rolled back"

# 4. An older set without its mark is complete: not rolled back when a newer one exists.
fresh "$fixture" "$root"
"$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "apply failed"
"$IOMMUCTL" apply --root "$root" --profile strict --vendor intel > /dev/null 2>&1 || fail "second apply failed"
[ "$(ls "$sets")" = "00000001
00000002" ] || fail "expected two sets: $(ls "$sets")"
rm -r "$TMP/after2" 2> /dev/null || true
cp -a "$root" "$TMP/after2"
rm "$sets/00000001/complete"
[ "$(state_of 1)" = "complete time" ] || fail "history of an older set without its mark: $(state_of 1)"
"$IOMMUCTL" apply --root "$root" --profile strict --vendor intel > /dev/null 2> "$TMP/err" || fail "apply: $(cat "$TMP/err")"
! grep -q "00000001" "$TMP/err" || fail "recovery touched the older set: $(cat "$TMP/err")"
same_tree "$TMP/after2" "$root" || fail "the older set without its mark was rolled back"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback of set 2 failed"
"$IOMMUCTL" rollback --root "$root" > /dev/null 2>&1 || fail "rollback of set 1 failed"
same_tree "$in" "$root" || fail "rolling back both sets differs from input/"
echo "ok: an older set without its mark is complete"
