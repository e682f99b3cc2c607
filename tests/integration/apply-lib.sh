# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the apply tests. Needs IOMMUCTL (the binary) and SRCDIR (the source tree).
set -eu
: "${IOMMUCTL:?}" "${SRCDIR:?}"
export IOMMUCTL_PROFILES_PATH="$SRCDIR/profiles"
FIXTURES="$SRCDIR/tests/fixtures/boot"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/iommuctl-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# A fresh copy of a fixture's input tree.
fresh() {
        rm -rf "$2"
        cp -a "$FIXTURES/$1/input" "$2"
}

# Byte-for-byte comparison of two trees, symlinks as links, ignoring the journal in var/.
same_tree() {
        diff -r --no-dereference -x var "$1" "$2"
}

# Every file of the old ($1) and the new ($2) tree is, in $3, wholly the old or wholly the new one.
old_or_new() {
        local f
        for f in $( (cd "$1" && find . ! -type d; cd "$2" && find . ! -type d) | sort -u); do
                if [ -e "$3/$f" ] || [ -L "$3/$f" ]; then
                        { [ -e "$1/$f" ] && cmp -s "$1/$f" "$3/$f"; } ||
                        { [ -e "$2/$f" ] && cmp -s "$2/$f" "$3/$f"; } ||
                        fail "$3/$f is neither the old nor the new file"
                else
                        [ -e "$1/$f" ] && [ -e "$2/$f" ] && fail "$3/$f vanished"
                fi
        done
        # No stray files (temporaries) outside the journal.
        for f in $(cd "$3" && find . ! -type d ! -path './var/*'); do
                [ -e "$1/$f" ] || [ -e "$2/$f" ] || [ -L "$1/$f" ] || fail "stray file $3/$f"
        done
        return 0
}

# mtime and inode of every file outside the journal.
stamps() {
        (cd "$1" && find . ! -type d ! -path './var/*' -printf '%p %i %T@\n' | sort)
}
