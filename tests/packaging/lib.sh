# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by test-deb.sh and test-rpm.sh.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failures=0

fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

ok() {
        echo "ok: $*"
}

die() {
        echo "FAIL: $*" >&2
        exit 1
}

# A missing tool is an error, not a skip: .ci/packages.txt installs every one of them.
need_tools() {
        local t missing=()
        for t in "$@"; do
                command -v "$t" >/dev/null || missing+=("$t")
        done
        [[ ${#missing[@]} -eq 0 ]] || die "missing tools: ${missing[*]} (install the packages in .ci/packages.txt)"
}

# The directories expected-files.txt names as @NAME@. pkg_dirs_from_pkgconfig [CMD...] reads
# them on the build system, through CMD (e.g. chroot_run): the systemd ones from systemd's
# pkg-config file (a missing systemd.pc is an error, not a guess), @libdir@ (for a private
# library under @libdir@/iommuctl/) from dpkg-architecture. The RPM sets them itself.
PKG_DIR_NAMES=(systemdsystemunitdir systemdsystemgeneratordir systemdsystempresetdir libdir)
declare -A PKG_DIRS=()
pkg_dirs_from_pkgconfig() {
        local n v
        for n in "${PKG_DIR_NAMES[@]}"; do
                [[ $n == libdir ]] && continue
                v=$("$@" pkg-config --variable="$n" systemd 2>/dev/null) || v=
                [[ $v == /* ]] || die "pkg-config --variable=$n systemd${1:+ (through $1)} gave '$v': no systemd.pc (Debian 13: systemd-dev; Debian 12: systemd)"
                PKG_DIRS[$n]=$v
        done
        v=$("$@" dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || v=
        [[ -n $v ]] || die "dpkg-architecture -qDEB_HOST_MULTIARCH${1:+ (through $1)} failed"
        PKG_DIRS[libdir]=/usr/lib/$v
}

# The expected file list, comments and blank lines removed, @NAME@ replaced, sorted.
# EXPECTED_FILES overrides the list, for trying the tests on a modified tree.
expected_files() {
        local n script=()
        for n in "${PKG_DIR_NAMES[@]}"; do
                [[ -n ${PKG_DIRS[$n]:-} ]] || die "expected_files: @$n@ is not set (pkg_dirs_from_pkgconfig first)"
                script+=(-e "s|@$n@|${PKG_DIRS[$n]}|g")
        done
        grep -v -e '^#' -e '^[[:space:]]*$' "${EXPECTED_FILES:-$here/expected-files.txt}" | sed "${script[@]}" | sort -u
}

# Reads package file paths on stdin and prints them the way expected-files.txt lists them:
# no directories (the caller filters), no documentation, no /usr/lib/.build-id links, man pages without compression.
normalize_files() {
        grep -v -e '^/usr/share/doc/' -e '^/usr/share/licenses/' -e '^/usr/lib/\.build-id/' \
                | sed -E 's,^(/usr/share/man/.*)\.(gz|xz|bz2|zst)$,\1,' | sort -u
}

# compare_lists WHAT FILE: the package's normalized file list against expected-files.txt.
compare_lists() {
        local what=$1 actual=$2 d
        d=$(diff <(expected_files) "$actual" || true)
        if [[ -z $d ]]; then
                ok "$what installs exactly the $(wc -l <"$actual") files of expected-files.txt"
        else
                fail "$what's files differ from tests/packaging/expected-files.txt (< expected only, > package only):"
                echo "$d" | grep '^[<>]' | sed 's/^/    /'
        fi
}

# Where the files must land for systemd, kernel-install and dracut to find them. Each
# file of the package is checked against the rule its name matches.
check_placement() {
        local what=$1 list=$2 f dir unitdir=${PKG_DIRS[systemdsystemunitdir]} gendir=${PKG_DIRS[systemdsystemgeneratordir]}
        local presetdir=${PKG_DIRS[systemdsystempresetdir]}
        while read -r f; do
                dir=${f%/*}
                case $f in
                        *.service|*.target|*.timer|*.path|*.socket)
                                [[ $dir == "$unitdir" ]] || fail "$f: systemd units belong in $unitdir (systemd.pc), where dh_installsystemd finds them" ;;
                        *-generator)
                                [[ $dir == "$gendir" ]] || fail "$f: generators belong in $gendir" ;;
                        *.preset)
                                [[ $dir == "$presetdir" ]] || fail "$f: presets belong in $presetdir" ;;
                        */install.d/*)
                                [[ $dir == /usr/lib/kernel/install.d ]] || fail "$f: kernel-install plugins belong in /usr/lib/kernel/install.d" ;;
                        */dracut/*)
                                [[ $f =~ ^/usr/lib/dracut/modules.d/[0-9][0-9][a-z0-9-]+/ ]] || fail "$f: dracut modules belong in /usr/lib/dracut/modules.d/NNname/" ;;
                        *.so)
                                [[ $dir == /usr/lib/iommu ]] || fail "$f: iommuctl's dlopen()ed modules belong in /usr/lib/iommu" ;;
                        /usr/lib/iommu/package-remove)
                                ;; # the package's remove-time hook (prerm, %preun): iommuctl's own libexec file
                        */profiles/*.conf)
                                [[ $dir == /usr/lib/iommu/profiles ]] || fail "$f: shipped profiles belong in /usr/lib/iommu/profiles" ;;
                        /etc/*)
                                [[ $f == /etc/iommu/* ]] || fail "$f: the package's configuration belongs in /etc/iommu/" ;;
                        /usr/bin/*|/usr/share/man/man[1-9]/*|/usr/share/bash-completion/completions/*|/usr/share/doc/*|/usr/share/licenses/*|/usr/lib/.build-id/*|/usr/lib/systemd/catalog/*)
                                ;;
                        *)
                                fail "$f: no rule says where this belongs (tests/packaging/lib.sh check_placement)" ;;
                esac
        done <"$list"
        ok "$what: placement rules checked for $(wc -l <"$list") files"
}

# Copies the source tree (tracked and untracked-but-not-ignored files, so that local
# changes are tested too) to DIR.
copy_source_tree() {
        local src=$1 dst=$2
        mkdir -p "$dst"
        if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                (cd "$src" && git ls-files -z --cached --others --exclude-standard \
                        | while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done \
                        | tar --null -T - -cf -) | tar -C "$dst" -xf -
        else
                (cd "$src" && tar --exclude='./build*' -cf - .) | tar -C "$dst" -xf -
        fi
}

project_version() {
        sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" "$1/meson.build" | head -n1
}

finish() {
        if [[ $failures -gt 0 ]]; then
                echo "$failures check(s) failed"
                exit 1
        fi
        echo "all checks passed"
}
