#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the .deb from a copy of the source tree (packaging/debian as debian/), runs lintian,
# installs it into a throw-away root with dpkg --root, upgrades, removes and purges it, and
# checks what lands where and what is left behind.
#
#   tests/packaging/test-deb.sh SRCDIR [KEEPDIR]
#
# Maintainer scripts run without chroot (--force-script-chrootless) with DPKG_ROOT set, as
# for a chrootless bootstrap: the throw-away root has no shell or libc of its own. Needs
# root (dpkg --root installs files with their owners).

src=$(cd "${1:?usage: $0 SRCDIR [KEEPDIR]}" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools dpkg-buildpackage dpkg-deb dpkg dh lintian fakeroot meson ninja pkg-config git tar
[[ $(id -u) -eq 0 ]] || die "dpkg --root needs root to install files with their owners"

work=${2:-$(mktemp -d)}
[[ -n ${2:-} ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
# mktemp makes it 0700; the package build's test suite runs some checks as an unprivileged
# user (tests/integration/test-verify.sh), which must reach the copied tree.
chmod 755 "$work"
version=$(project_version "$src")
# The directories of the expected file list: this system's systemd.pc, where the build looks.
pkg_dirs_from_pkgconfig

# --- build -------------------------------------------------------------------------
copy_source_tree "$src" "$work/iommuctl"
"$work/iommuctl/packaging/prepare-debian" "$work/iommuctl" || die "packaging/prepare-debian failed"
deb_version=$(cd "$work/iommuctl" && dpkg-parsechangelog -S Version)
[[ ${deb_version%-*} == "$version" ]] \
        || fail "debian/changelog says $deb_version, meson.build says $version"
# The version names the release it was built for (packaging/prepare-debian).
os_id=$(. /etc/os-release && echo "${ID:-}:${VERSION_ID:-}")
if [[ $os_id == debian:[0-9]* ]]; then
        [[ $deb_version == *"~deb${os_id#debian:}u1" ]] && ok "version $deb_version names Debian ${os_id#debian:}" \
                || fail "version $deb_version does not name Debian ${os_id#debian:} (~deb${os_id#debian:}u1)"
fi
echo "building iommuctl $deb_version in $work"
if ! (cd "$work/iommuctl" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
        tail -n 60 "$work/build.log"
        die "dpkg-buildpackage -us -uc -b failed (log: $work/build.log)"
fi
deb=$(ls "$work"/iommuctl_*.deb)
ok "dpkg-buildpackage -us -uc -b built ${deb##*/}"

# --- lintian -----------------------------------------------------------------------
rc=0
lintian --fail-on error --info "$work"/iommuctl_*.changes >"$work/lintian.log" 2>&1 || rc=$?
cat "$work/lintian.log"
if [[ $rc -ne 0 ]] || grep -q '^E: ' "$work/lintian.log"; then
        fail "lintian reports errors (exit $rc)"
else
        ok "lintian: no errors ($(grep -c '^W: ' "$work/lintian.log") warnings, see doc/packaging.md)"
fi

# --- contents ----------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | normalize_files >"$work/deb-files.txt"
compare_lists ".deb" "$work/deb-files.txt"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$work/deb-raw-files.txt"
check_placement ".deb" "$work/deb-raw-files.txt"

dpkg-deb -I "$deb" conffiles >"$work/conffiles.txt" 2>/dev/null || true
while read -r f; do
        [[ $f == /etc/* ]] || continue
        grep -qx "$f" "$work/conffiles.txt" && ok "$f is a conffile" || fail "$f is not a conffile"
done < <(expected_files)

depends=$(dpkg-deb -f "$deb" Depends)
[[ $depends == *libc6* && $depends == *libinih* ]] \
        && ok "Depends from \${shlibs:Depends}: $depends" \
        || fail "Depends lacks the shared libraries iommuctl links: '$depends'"

# --- install into a throw-away root --------------------------------------------------
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
# The admin's boot configuration, which nothing in the package may change.
mkdir -p "$root/boot/loader/entries" "$root/etc/kernel" "$root/etc/default"
echo "options root=/dev/sda1 ro quiet intel_iommu=on iommu=pt" >"$root/boot/loader/entries/debian.conf"
echo "root=/dev/sda1 ro quiet intel_iommu=on iommu=pt" >"$root/etc/kernel/cmdline"
echo 'GRUB_CMDLINE_LINUX="intel_iommu=on iommu=pt"' >"$root/etc/default/grub"
boot_sums() {
        (cd "$root" && sha256sum boot/loader/entries/debian.conf etc/kernel/cmdline etc/default/grub)
}
boot_sums >"$work/boot.sha256"
find "$root" | sort >"$work/before.txt"

dpkg_root() {
        dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-depends "$@"
}

dpkg_root -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; die "dpkg --root -i failed"; }
ok "installed into $root"

missing=0
while read -r f; do
        [[ -e $root$f || -e $root$f.gz ]] || { fail "$f not installed"; missing=1; }
done < <(expected_files)
[[ $missing -eq 0 ]] && ok "every expected file is in the root"

out=$("$root/usr/bin/iommuctl" --version) && [[ $out == "iommuctl $version" ]] \
        && ok "installed iommuctl --version: $out" || fail "installed iommuctl --version printed '$out'"
# The installed profiles are where iommuctl looks (under --root; no profile path from tests).
out=$(env -u IOMMUCTL_PROFILES_PATH "$root/usr/bin/iommuctl" --root "$root" profiles --json)
n=$(grep -o "\"path\": *\"$root/usr/lib/iommu/profiles/[a-z-]*\.conf\"" <<<"$out" | wc -l)
[[ $n -eq 5 ]] && ok "iommuctl --root finds the 5 installed profiles" \
        || fail "iommuctl --root found $n installed profiles: $out"
out=$(env -u IOMMUCTL_PROFILES_PATH "$root/usr/bin/iommuctl" --root "$root" cmdline --profile strict --vendor amd) \
        && [[ $out == "iommu.passthrough=0 iommu.strict=1" ]] \
        && ok "installed profile strict gives '$out' on AMD" || fail "cmdline --profile strict --vendor amd: '$out'"

# Units: iommu-verify.service enabled, iommu-apply.service not (the generator pulls it in).
[[ -n $(find "$root/etc/systemd/system" -path '*.wants/iommu-verify.service' 2>/dev/null) ]] \
        && ok "iommu-verify.service is enabled" || fail "iommu-verify.service is not enabled after installation"
[[ -z $(find "$root/etc/systemd/system" -name iommu-apply.service 2>/dev/null) ]] \
        && ok "iommu-apply.service is not enabled" || fail "iommu-apply.service is enabled"
diff -u "$work/boot.sha256" <(boot_sums) >/dev/null \
        && ok "installation left the boot configuration alone" || fail "installation changed the boot configuration"

# --- upgrade keeps the admin's configuration and profiles ----------------------------
mkdir -p "$root/etc/iommu/profiles" "$root/etc/iommu/iommu.conf.d"
printf '[Profile]\nInclude=gpu-sriov\n' >"$root/etc/iommu/profiles/site-gpu.conf"
printf '[IOMMU]\nProfile=site-gpu\n' >"$root/etc/iommu/iommu.conf.d/50-fleet.conf"
admin_files=(etc/iommu/profiles/site-gpu.conf etc/iommu/iommu.conf.d/50-fleet.conf)
while read -r f; do
        [[ $f == /etc/* && -f $root$f ]] || continue
        echo "# changed by the admin" >>"$root$f"
        admin_files+=("${f#/}")
done < <(expected_files)
(cd "$root" && sha256sum "${admin_files[@]}") >"$work/admin.sha256"

# The next version: the same package with a new version number.
rm -rf "$work/next"
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: ${deb_version}+upgrade1/" "$work/next/DEBIAN/control"
dpkg-deb -b "$work/next" "$work/next.deb" >/dev/null
dpkg_root -i "$work/next.deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; die "upgrade failed"; }
[[ $(dpkg-query --root="$root" -W -f '${Version}' iommuctl) == "${deb_version}+upgrade1" ]] \
        && ok "upgraded to ${deb_version}+upgrade1" || fail "upgrade did not happen"
(cd "$root" && sha256sum --quiet -c "$work/admin.sha256") \
        && ok "upgrade kept the admin's ${#admin_files[@]} configuration files and profiles" \
        || fail "upgrade changed the admin's configuration"

# --- remove, then purge ------------------------------------------------------------
# The admin applies a profile with the installed iommuctl: the state and the boot
# configuration that removal and purge must leave alone.
env -u IOMMUCTL_PROFILES_PATH "$root/usr/bin/iommuctl" --root "$root" apply --profile strict --vendor intel \
        --backend kernel-cmdline >"$work/apply.log" 2>&1 || { cat "$work/apply.log"; die "iommuctl apply in the root failed"; }
grep -qx 'root=/dev/sda1 ro quiet intel_iommu=on iommu.passthrough=0 iommu.strict=1' "$root/etc/kernel/cmdline" \
        && [[ -f $root/var/lib/iommu/changesets/00000001/complete ]] \
        && ok "installed iommuctl applied profile strict, change set 00000001" \
        || fail "apply did not write /etc/kernel/cmdline and its change set: $(cat "$root/etc/kernel/cmdline")"
boot_sums >"$work/boot-applied.sha256"
dpkg_root --remove iommuctl >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; die "dpkg --remove failed"; }
[[ -f $root/var/lib/iommu/changesets/00000001/complete ]] && ok "remove keeps /var/lib/iommu" || fail "remove deleted /var/lib/iommu"
grep -q "the boot configuration keeps the IOMMU parameters iommuctl applied" "$work/remove.log" \
        && ok "remove says the applied boot parameters stay" || fail "remove printed no hint: $(cat "$work/remove.log")"
grep -q "run 'iommuctl rollback'" "$work/remove.log" \
        && fail "remove tells to run the tool being removed: $(cat "$work/remove.log")" || ok "remove does not tell to run the tool being removed"
dpkg_root --purge iommuctl >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; die "dpkg --purge failed"; }
[[ ! -e $root/var/lib/iommu ]] && ok "purge removed /var/lib/iommu" || fail "purge left /var/lib/iommu"

left=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' \
        | while read -r f; do if [[ -e $root$f || -L $root$f ]]; then echo "$f"; fi; done)
[[ -z $left ]] && ok "purge left none of the package's files" || fail "purge left package files: $left"
[[ -z $(find "$root/etc/systemd" -name 'iommu-*' 2>/dev/null) ]] \
        && ok "purge left no unit symlinks" || fail "purge left unit symlinks"
(cd "$root" && sha256sum --quiet -c <(grep -e profiles/ -e iommu.conf.d/ "$work/admin.sha256")) \
        && ok "purge kept the admin's own profiles and drop-ins" || fail "purge removed the admin's own files"
diff -u "$work/boot-applied.sha256" <(boot_sums) >/dev/null \
        && ok "purge did not roll back or change the boot configuration" || fail "purge changed the boot configuration"

# Nothing else is left: the tree is as before, plus the admin's files and dpkg's own state.
find "$root" | sort >"$work/after.txt"
extra=$(comm -13 "$work/before.txt" "$work/after.txt" \
        | grep -v -e "^$root/var/lib/dpkg" -e "^$root/etc/iommu\$" -e "^$root/etc/iommu/profiles" \
                  -e "^$root/etc/iommu/iommu.conf.d" -e "^$root/var/lib/systemd\$" \
                  -e "^$root/etc/systemd\$" -e "^$root/etc/systemd/system\$" \
                  -e "^$root/var/lib/systemd/deb-systemd-helper-" || true)
[[ -z $extra ]] && ok "purge left nothing else behind" || fail "left behind after purge: $extra"

finish
