#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages describe the program that was built: every verb and option of
# "iommuctl --help", every key iommu.conf and profiles accept, every field of the verify journal
# entry (as a real run writes them), and the generator's switches are in the page that owns them.
#
#   tests/man/test-man-content.sh IOMMUCTL SRCDIR MANDIR

set -u
iommuctl=${1:?usage: $0 IOMMUCTL SRCDIR MANDIR} src=${2:?} mandir=${3:?}
command -v man >/dev/null || { echo "FAIL: man not found (install man-db, see .ci/packages.txt)"; exit 1; }
failed=0 checked=0

# The page as text, ASCII hyphens, no hyphenation at line ends, one line.
render() {
        LC_ALL=C MANWIDTH=1000 man -l "$mandir/$1" 2>/dev/null | col -b | tr -s ' \n' '  '
}

# expect [-i] PAGE WHAT WORD...: each WORD appears in PAGE (-i: in any case).
expect() {
        local icase= page what text w
        [[ $1 == -i ]] && { icase=-i; shift; }
        page=$1 what=$2
        shift 2
        text=$(render "$page")
        [[ -n $text ]] || { echo "FAIL: $page does not render"; failed=1; return; }
        for w in "$@"; do
                checked=$((checked + 1))
                if ! grep -qF $icase -- "$w" <<<"$text"; then
                        echo "FAIL: $page does not mention $what '$w'"
                        failed=1
                fi
        done
}

help=$("$iommuctl" --help) || { echo "FAIL: $iommuctl --help"; exit 1; }
mapfile -t verbs < <(awk '/^Verbs:/ { v = 1; next } /^$/ { v = 0 } v { print $1 }' <<<"$help")
mapfile -t opts < <(grep -oE '^ +(-[a-zA-Z] )?--[a-z-]+' <<<"$help" | grep -oE -- '--[a-z-]+')
[[ ${#verbs[@]} -ge 9 && ${#opts[@]} -ge 19 ]] || { echo "FAIL: read ${#verbs[@]} verbs, ${#opts[@]} options from --help"; exit 1; }
expect iommuctl.8 "verb" "${verbs[@]}" "groups set-type"
expect iommuctl.8 "option" "${opts[@]}"
# Every usage line's arguments (export's formats, set-type's types, --reboot's values).
for v in "${verbs[@]}"; do
        mapfile -t words < <("$iommuctl" "$v" --help | sed -n 's/^Usage: //p' | grep -oE '[a-z][a-z-]+(\|[a-zA-Z][a-zA-Z-]+)+' | tr '|' '\n')
        expect iommuctl.8 "value from '$v --help'" "${words[@]}"
done

# iommu.conf: the sections and keys config.c parses.
mapfile -t sections < <(grep -oE 'streq\(section, "[A-Za-z]+"\)' "$src/src/libiommu/config.c" | cut -d'"' -f2 | sed 's/^/[/')
mapfile -t keys < <(grep -oE 'streq\(name, "[A-Za-z]+"\)' "$src/src/libiommu/config.c" | cut -d'"' -f2 | sed 's/$/=/')
[[ ${#sections[@]} -ge 4 && ${#keys[@]} -ge 12 ]] || { echo "FAIL: read ${#sections[@]} sections, ${#keys[@]} keys from config.c"; exit 1; }
# Spelled as the parser accepts them (it rejects "[APPLY]"), headings included.
expect iommu.conf.5 "section" "${sections[@]/%/] SECTION}"
mapfile -t psections < <(grep -oE 'streq\(section, "[A-Za-z]+"\)' "$src/src/libiommu/profile.c" | cut -d'"' -f2 | sed 's/^/[/')
while read -r s; do
        printf '%s\n' "${sections[@]/%/]}" "${psections[@]/%/]}" | grep -qxF -- "$s" \
                || { echo "FAIL: a man page names section $s, which config.c or profile.c rejects"; exit 1; }
done < <(grep -ohE '\[[A-Za-z]+\]' "$src"/man/iommu.conf.5 | sort -u)
expect iommu.conf.5 "key" "${keys[@]}"

# Profiles: the keys profile.c parses and the vendor keys of [KernelArgs].
mapfile -t keys < <(grep -oE 'streq\(name, "[A-Za-z]+"\)' "$src/src/libiommu/profile.c" | cut -d'"' -f2 | sed 's/$/=/')
mapfile -t vkeys < <(sed -n 's/.*valid: \(Intel, AMD.*\)", name.*/\1/p' "$src/src/libiommu/profile.c" | tr -d ' ' | tr ',' '\n' | sed 's/$/=/')
[[ ${#keys[@]} -ge 8 && ${#vkeys[@]} -eq 4 ]] || { echo "FAIL: read ${#keys[@]} keys, ${#vkeys[@]} vendor keys from profile.c"; exit 1; }
expect iommu-profiles.5 "key" "${keys[@]}" "${vkeys[@]}" "[Profile]" "[KernelArgs]" "[Expect]"

# The verify journal entry, as a real run on a captured tree writes it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
IOMMUCTL_PROFILES_PATH=$src/profiles "$iommuctl" verify --profile gpu-sriov --no-journal \
        --root "$src/tests/fixtures/hosts/qemu-intel-passthrough/root" --journal-fields-to "$tmp/fields" >/dev/null \
        || { echo "FAIL: verify on qemu-intel-passthrough"; exit 1; }
mapfile -t fields < <(cut -d= -f1 "$tmp/fields")
[[ ${#fields[@]} -ge 15 ]] || { echo "FAIL: only ${#fields[@]} journal fields"; exit 1; }
expect iommu-verify.service.8 "journal field" "${fields[@]}" "$(sed -n 's/^MESSAGE_ID=//p' "$tmp/fields")"

# The generator's kernel command line switch and environment.
mapfile -t words < <(sed -n 's/^#define APPLY_SWITCH "\(.*\)"/\1=0/p' "$src/src/iommu-generator.c"; \
                     grep -oE 'getenv\("[A-Z_]+"\)' "$src/src/iommu-generator.c" | cut -d'"' -f2 | grep -v SYSTEMD_IN_INITRD)
[[ ${#words[@]} -ge 3 ]] || { echo "FAIL: read ${#words[@]} switches from iommu-generator.c"; exit 1; }
expect iommu-generator.8 "switch" "${words[@]}" "Generator="

echo "$checked mentions checked"
exit $failed
