#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What makes an apply durable, observed from outside:
# 1. Under strace, a first apply into a tree without /var fsyncs the directory above each
#    directory it makes (/, /var, /var/lib, /var/lib/iommu, and /etc for /etc/iommu), those of the
#    journal before the first boot file is renamed; a second apply on the same tree makes none of
#    them, and fsyncs each written file, each of their directories and the journal (file, set
#    directory, changesets/) once, and the set directory again for its "complete" mark.
# 2. A set without its mark (the run died before it), one file still old, is rolled back.
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
# The journal: its file, its set's directory, changesets/, each once; the mark its directory again.
if len(setdir) != 1:
    errors.append("expected one set directory made, got %s" % setdir)
else:
    sd = setdir[0]
    c = sum(1 for n, p in fsyncs if p == sd)
    if c != 2:
        errors.append("%s fsynced %d times, expected twice (its journal, then its complete mark)" % (sd, c))
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
expected_total = len(boot) + 4 + len({d for n, d, name in boot})
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
echo "ok: the directories above each one apply makes are fsynced once, the journal's before any boot file"

# 2. The mark missing (the run died before it) with one file still old: rolled back, every file old.
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
echo "ok: a set without its mark is rolled back"
