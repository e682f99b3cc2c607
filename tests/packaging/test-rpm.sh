#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes the source tarball with "meson dist" from a committed copy of the source tree,
# builds the RPM with rpmbuild (Debian's rpm package), runs rpmlint on the spec and the
# packages, and compares the package's files with expected-files.txt.
#
#   tests/packaging/test-rpm.sh SRCDIR [KEEPDIR]
#
# rpmbuild runs with --nodeps: on Debian the rpm database is empty, so BuildRequires
# cannot be checked; the build needs the Debian packages in .ci/packages.txt instead.

src=$(cd "${1:?usage: $0 SRCDIR [KEEPDIR]}" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools rpmbuild rpmspec rpm2archive rpm rpmlint meson ninja git tar xz pkg-config

work=${2:-$(mktemp -d)}
[[ -n ${2:-} ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
# mktemp makes it 0700; the package build's test suite runs some checks as an unprivileged
# user (tests/integration/test-verify.sh), which must reach the copied tree.
chmod 755 "$work"
version=$(project_version "$src")
spec=$src/packaging/rpm/iommuctl.spec
# The directories of the expected file list: %_unitdir, %_systemdgeneratordir, %_presetdir as
# systemd-rpm-macros defines them; where rpm lacks those macros (Debian), the values the spec
# falls back to, which are Fedora's.
rpm_dir() {
        local v
        v=$(rpm --eval "%{?$1}")
        echo "${v:-$2}"
}
PKG_DIRS[systemdsystemunitdir]=$(rpm_dir _unitdir /usr/lib/systemd/system)
PKG_DIRS[systemdsystemgeneratordir]=$(rpm_dir _systemdgeneratordir /usr/lib/systemd/system-generators)
PKG_DIRS[systemdsystempresetdir]=$(rpm_dir _presetdir /usr/lib/systemd/system-preset)
PKG_DIRS[libdir]=$(rpm --eval '%{_libdir}')

spec_version=$(rpmspec -q --srpm --qf '%{VERSION}' "$spec" 2>/dev/null)
[[ $spec_version == "$version" ]] || fail "iommuctl.spec says Version $spec_version, meson.build says $version"

# --- meson dist: needs a git checkout whose files are committed ----------------------
rm -rf "$work/src" "$work/dist-build"
copy_source_tree "$src" "$work/src"
git -C "$work/src" init -q
git -C "$work/src" add -A
git -C "$work/src" -c user.name=test -c user.email=test@example.org commit -q -m "test-rpm snapshot"
meson setup "$work/dist-build" "$work/src" >"$work/dist.log" 2>&1 \
        && meson dist -C "$work/dist-build" --no-tests --formats xztar >>"$work/dist.log" 2>&1 \
        || { tail -n 30 "$work/dist.log"; die "meson dist failed"; }
tarball=$work/dist-build/meson-dist/iommuctl-$version.tar.xz
[[ -f $tarball ]] || die "meson dist made no $tarball"
ok "meson dist made ${tarball##*/}"

# --- rpmbuild ----------------------------------------------------------------------
top=$work/rpmbuild
rm -rf "$top"
mkdir -p "$top"
# IOMMU_RPM_NOCHECK=1: without %check (test-rpm-chroot.sh, where the test tools are missing).
nocheck=()
[[ ${IOMMU_RPM_NOCHECK:-0} == 1 ]] && nocheck=(--nocheck)
if ! rpmbuild -ba --nodeps "${nocheck[@]}" \
        --define "_topdir $top" \
        --define "_sourcedir ${tarball%/*}" \
        --define "packager iommuctl CI <iommuctl@example.org>" \
        "$spec" >"$work/rpmbuild.log" 2>&1; then
        tail -n 60 "$work/rpmbuild.log"
        die "rpmbuild -ba failed (log: $work/rpmbuild.log)"
fi
rpm_file=$(ls "$top"/RPMS/*/iommuctl-"$version"-*.rpm | grep -v -e debuginfo -e debugsource)
ok "rpmbuild -ba built ${rpm_file##*/} and $(ls "$top"/SRPMS)"

# --- rpmlint -----------------------------------------------------------------------
# rpmlint before 2.7 needs one more filter, which 2.7 would report as unused (an error);
# rpmlint 2.4 reads one -r file only, so the two are joined.
rpmlintrc=$src/packaging/rpm/iommuctl.rpmlintrc
rpmlint_version=$(rpmlint --version 2>/dev/null | grep -o '^[0-9][0-9.]*' | head -n1)
if [[ $(printf '%s\n' "$rpmlint_version" 2.7 | sort -V | head -n1) != 2.7 ]]; then
        cat "$rpmlintrc" "$src/packaging/rpm/iommuctl-rpmlint-2.4.rpmlintrc" >"$work/rpmlintrc"
        rpmlintrc=$work/rpmlintrc
fi
echo "rpmlint $rpmlint_version -r ${rpmlintrc#"$src/"}"
rc=0
rpmlint -r "$rpmlintrc" "$spec" "$top"/RPMS/*/*.rpm "$top"/SRPMS/*.rpm >"$work/rpmlint.log" 2>&1 || rc=$?
cat "$work/rpmlint.log"
summary=$(grep -E '[0-9]+ packages and [0-9]+ specfiles checked' "$work/rpmlint.log" || true)
errors=$(sed -nE 's/.* ([0-9]+) errors.*/\1/p' <<<"$summary")
if [[ -z $summary ]]; then
        fail "rpmlint printed no summary (exit $rc)"
elif [[ $errors != 0 ]]; then
        fail "rpmlint reports $errors errors"
else
        ok "rpmlint: $summary"
fi

# --- contents ----------------------------------------------------------------------
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm_file" >"$work/rpm-modes.txt"
awk '$1 !~ /^d/ { print $2 }' "$work/rpm-modes.txt" | normalize_files >"$work/rpm-files.txt"
compare_lists ".rpm" "$work/rpm-files.txt"
awk '$1 !~ /^d/ { print $2 }' "$work/rpm-modes.txt" | sort >"$work/rpm-raw-files.txt"
check_placement ".rpm" "$work/rpm-raw-files.txt"
rpm -qlp "$rpm_file" >"$work/rpm-qlp.txt"
ok "rpm -qlp lists $(wc -l <"$work/rpm-qlp.txt") paths (directories included)"

rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm_file" >"$work/rpm-flags.txt"
while read -r f; do
        [[ $f == /etc/* ]] || continue
        flags=$(awk -v f="$f" '$2 == f { print $1 }' "$work/rpm-flags.txt")
        [[ $flags == *c* && $flags == *n* ]] && ok "$f is %config(noreplace)" \
                || fail "$f is not %config(noreplace) (flags '$flags')"
done < <(expected_files)

grep -q '^d.* /usr/lib/iommu/profiles$' "$work/rpm-modes.txt" \
        && ok "the package owns /usr/lib/iommu/profiles" || fail "/usr/lib/iommu/profiles is not owned"
rpm -qp --requires "$rpm_file" | grep -q 'libinih' \
        && ok "automatic Requires include libinih" || fail "no automatic Requires on libinih"

scripts=$(rpm -qp --scripts "$rpm_file")
grep -q 'preset iommu-verify.service\|install-system-units iommu-verify.service' <<<"$scripts" \
        && ok "%post presets iommu-verify.service" || fail "%post does not preset the units: $scripts"
grep -q 'disable --now iommu-verify.service\|remove-system-units iommu-verify.service' <<<"$scripts" \
        && ok "%preun disables the units on erase" || fail "%preun does not disable the units"
! grep -q 'iommuctl apply\|try-restart' <<<"$scripts" \
        && ok "no scriptlet applies a profile or restarts a unit" || fail "a scriptlet applies or restarts"

# The binary in the package runs.
rm -rf "$work/extract" && mkdir -p "$work/extract"
rpm2archive - <"$rpm_file" | tar -C "$work/extract" -xzf - || fail "rpm2archive could not unpack ${rpm_file##*/}"
out=$("$work/extract/usr/bin/iommuctl" --version) && [[ $out == "iommuctl $version" ]] \
        && ok "packaged iommuctl --version: $out" || fail "packaged iommuctl --version printed '$out'"

finish
