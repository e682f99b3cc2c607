#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ansible-lint's production profile on the collection (Debian's ansible-lint, offline), and one
# rollout order in the role's tasks, the collection's README, galaxy.yml and the project README.
#
#   tests/ansible/test-lint.sh SRCDIR
set -uo pipefail
src=$(cd "${1:?usage: $0 SRCDIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok: $*"; }
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}
command -v ansible-lint >/dev/null || { echo "FAIL: ansible-lint is not installed (.ci/packages.txt)"; exit 1; }

# A copy, so that nothing ansible-lint or ansible-galaxy writes lands in the source tree; its
# caches (ansible-compat) under $tmp, not $HOME.
mkdir -p "$tmp/ansible_collections/iommu"
cp -a "$src/ansible/ansible_collections/iommu/iommuctl" "$tmp/ansible_collections/iommu/"
coll=$tmp/ansible_collections/iommu/iommuctl
export HOME=$tmp XDG_CACHE_HOME=$tmp/cache ANSIBLE_HOME=$tmp/ansible-home ANSIBLE_LOCAL_TEMP=$tmp/ansible-home/tmp
export ANSIBLE_COLLECTIONS_PATH=$tmp ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false NO_COLOR=1 ANSIBLE_NOCOLOR=1
rc=0
(cd "$coll" && ansible-lint --profile production --offline -p) >"$tmp/lint.log" 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then
        ok "ansible-lint --profile production: exit 0 ($(ansible-lint --version 2>/dev/null | head -n 1))"
else
        sed 's/^/  | /' "$tmp/lint.log"
        fail "ansible-lint --profile production: exit $rc"
fi

# in_order WHAT TEXT WORD...: each WORD occurs in TEXT after the previous one.
in_order() {
        local what=$1 text=$2
        shift 2
        if python3 -c 'import sys
text, at = sys.argv[1], 0
for w in sys.argv[2:]:
    i = text.find(w, at)
    if i < 0:
        sys.exit("%r missing, or before %r" % (w, text[max(at - 40, 0):at]))
    at = i + len(w)' "$text" "$@" 2>"$tmp/order"; then
                ok "$what: $*"
        else
                fail "$what: not in the order $*: $(cat "$tmp/order")"
        fi
}
# One line per step where the step's words are; the role is read from its task names.
role=$(sed -n 's/^ *- name: //p' "$coll/roles/rollout/tasks/main.yml" | tr '\n' ' ')
in_order "role tasks" "$role" "Write the profile" "Gate" "Cordon" "Drain" "Reboot" "Verify" "Uncordon"
galaxy=$(tr '\n' ' ' <"$coll/galaxy.yml")
in_order "galaxy.yml description" "$galaxy" "applies" "gates" "drains" "reboots" "verifies" "uncordons"
readme=$(sed -n '/^## The role and playbook/,/^## /p' "$coll/README.md" | tr '\n' ' ')
in_order "collection README" "$readme" "iommuctl apply" "status --check" "kubectl cordon" "kubectl drain" "reboot" "iommuctl verify" "uncordon"
top=$(sed -n '/^## Rolling out on a fleet/,/^## /p' "$src/README.md" | tr '\n' ' ')
in_order "README" "$top" "iommuctl apply" "status --check" "kubectl cordon" "kubectl drain" "reboot" "iommuctl verify" "kubectl uncordon"

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
