#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The .deb on a Debian release, in a chroot of that release (tests/packaging/chroot-lib.sh:
# debootstrap from Debian's archive, cached): builds the package there with
# packaging/prepare-debian and dpkg-buildpackage, runs that release's lintian on it, compares
# its files with expected-files.txt (directories from the chroot's systemd.pc), installs it
# with dpkg in a throw-away copy of the chroot, upgrades, runs the installed iommuctl
# (verify against a captured fixture tree, apply to the chroot's own /etc), removes and
# purges it, and checks what is left.
#
#   tests/packaging/test-deb-chroot.sh SRCDIR SUITE [FROM_SUITE]
#
# With FROM_SUITE (trixie bookworm: Debian 13 over Debian 12), the package built in the
# FROM_SUITE chroot is installed first and the SUITE build upgrades it, as a dist-upgrade
# would; without it, the build upgrades to a repacked newer version of itself.
#
# The package build runs with DEB_BUILD_OPTIONS=nocheck and the nocheck build profile (the
# build-time test suite runs in test-deb.sh on the build machine, and the chroot holds only
# the Build-Depends the profile keeps); IOMMU_PKG_CHROOT_CHECK=1 runs it inside the chroot too.
# Needs root (debootstrap, chroot, mounts in a private namespace) and, for the first run or
# new Build-Depends, Debian's archive.

src=$(cd "${1:?usage: $0 SRCDIR SUITE [FROM_SUITE]}" && pwd)
suite=${2:?usage: $0 SRCDIR SUITE [FROM_SUITE]}
from=${3:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/chroot-lib.sh"

need_tools debootstrap unshare chroot flock tar sha256sum dpkg-deb
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mount namespaces)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Killed (a meson timeout): still the EXIT trap. The mounts live in the commands' own
# namespaces and are gone with them.
trap 'exit 143' INT TERM HUP
version=$(project_version "$src")
check=${IOMMU_PKG_CHROOT_CHECK:-0}
t0=$SECONDS

# --- the chroots ---------------------------------------------------------------------
for s in $from "$suite"; do
        t=$SECONDS
        # systemd: what the package's units are enabled by and checked with, on every real
        # system; the nocheck Build-Depends do not bring it on Debian 13 (systemd-dev there).
        chroot_ensure "$s" "$([[ $check == 1 ]] || echo nocheck)" systemd || die "no $s chroot"
        ok "$s chroot ready in $CHROOT_CACHE/$s ($((SECONDS - t)) s)"
done

copy_source_tree "$src" "$work/iommuctl"
rm -rf "$work/iommuctl/debian" "$work/iommuctl"/build* "$work/iommuctl"/obj-*

# build_in SUITE OUTDIR: builds the .deb in a session of the SUITE chroot; leaves the
# session for lintian.
build_in() {
        local s=$1 out=$2 opts=nocheck t=$SECONDS
        [[ $check == 1 ]] && opts=
        chroot_session "$s" "$work/$s-build" || return 1
        chroot_put "$work/iommuctl" /build || return 1
        if ! chroot_run /bin/sh -c "cd /build/iommuctl && packaging/prepare-debian && \
                        DEB_BUILD_OPTIONS='$opts parallel=$(nproc)' DEB_BUILD_PROFILES='$opts' dpkg-buildpackage -us -uc -b" >"$work/$s-build.log" 2>&1; then
                tail -n 60 "$work/$s-build.log"
                echo "FAIL: dpkg-buildpackage in the $s chroot failed"
                return 1
        fi
        mkdir -p "$out"
        chroot_run /bin/sh -c 'cd /build && tar -cf - iommuctl_*' | tar -C "$out" -xf - || return 1
        ok "built $(cd "$out" && ls iommuctl_*.deb) in the $s chroot ($((SECONDS - t)) s${opts:+, $opts})"
}

if [[ -n $from ]]; then
        build_in "$from" "$work/out-$from" || die "no $from build"
fi
build_in "$suite" "$work/out-$suite" || die "no $suite build"
deb=$(ls "$work/out-$suite"/iommuctl_*.deb)
deb_version=$(dpkg-deb -f "$deb" Version)
release=$(chroot_run /bin/sh -c '. /etc/os-release && echo "$VERSION_ID"')
[[ $deb_version == "$version-"*"~deb${release}u1" ]] && ok "version $deb_version: upstream $version, built for Debian $release" \
        || fail "version $deb_version does not end in ~deb${release}u1"

# --- lintian of this release -----------------------------------------------------------
# No error, and every warning is one doc/packaging.md explains.
lintian_version=$(chroot_run lintian --version)
rc=0
# As nobody: lintian unpacks what it checks, and warns when it runs as root.
chroot_run runuser -u nobody -- /bin/sh -c 'cd /build && lintian --fail-on error --info iommuctl_*.changes' >"$work/lintian.log" 2>&1 || rc=$?
sed 's/^/    /' "$work/lintian.log"
errors=$(grep -c '^E: ' "$work/lintian.log" || true)
warnings=$(grep -c '^W: ' "$work/lintian.log" || true)
[[ $rc -eq 0 && $errors -eq 0 ]] && ok "$lintian_version on the $suite build: 0 errors, $warnings warnings" \
        || fail "$lintian_version on the $suite build: $errors errors (exit $rc)"
while read -r tag; do
        grep -q -- "W: $tag\`" "$src/doc/packaging.md" && ok "lintian warning $tag is explained in doc/packaging.md" \
                || fail "lintian warning $tag ($suite) is not explained in doc/packaging.md"
done < <(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$work/lintian.log" | sort -u)

# --- contents --------------------------------------------------------------------------
pkg_dirs_from_pkgconfig chroot_run
ok "$suite systemd.pc: units in ${PKG_DIRS[systemdsystemunitdir]}, generators in ${PKG_DIRS[systemdsystemgeneratordir]}, presets in ${PKG_DIRS[systemdsystempresetdir]}"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | normalize_files >"$work/deb-files.txt"
compare_lists ".deb ($suite)" "$work/deb-files.txt"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$work/deb-raw-files.txt"
check_placement ".deb ($suite)" "$work/deb-raw-files.txt"
if [[ ${PKG_DIRS[systemdsystemunitdir]} == /usr/* ]]; then
        ! grep -q '^/lib/' "$work/deb-raw-files.txt" && ok "nothing under /lib (merged /usr)" \
                || fail "files under /lib on a merged-/usr release: $(grep '^/lib/' "$work/deb-raw-files.txt" | paste -sd' ')"
fi

# --- install, upgrade, use, remove, purge in a fresh session ------------------------------
chroot_session "$suite" "$work/$suite-install" || die "no $suite session"
mkdir -p "$work/debs"
cp "$deb" "$work/debs/new.deb"
if [[ -n $from ]]; then
        cp "$work/out-$from"/iommuctl_*.deb "$work/debs/old.deb"
else
        # The next version: the same package with a new version number, installed over it.
        cp "$deb" "$work/debs/old.deb"
        dpkg-deb -R "$deb" "$work/next"
        sed -i "s/^Version: .*/Version: ${deb_version}+upgrade1/" "$work/next/DEBIAN/control"
        dpkg-deb -b "$work/next" "$work/debs/new.deb" >/dev/null
fi
old_version=$(dpkg-deb -f "$work/debs/old.deb" Version)
new_version=$(dpkg-deb -f "$work/debs/new.deb" Version)
# What the admin had: a GRUB configuration and /etc/kernel/cmdline iommuctl will write to,
# the captured fixture tree verify reads.
mkdir -p "$work/seed/etc/default/grub.d" "$work/seed/etc/kernel" "$work/seed/srv"
echo 'GRUB_CMDLINE_LINUX="quiet"' >"$work/seed/etc/default/grub"
echo "root=/dev/sda1 ro quiet" >"$work/seed/etc/kernel/cmdline"
cp -a "$src/tests/fixtures/hosts/qemu-intel-passthrough" "$work/seed/srv/fixture"
chroot_put "$work/debs" /tmp || die "copying the packages into the chroot failed"
(cd "$work/seed" && tar -cf - .) | chroot_run tar -C / -xf - || die "seeding the chroot failed"
# Every file of the chroot, before the package: what purge must come back to.
snapshot() {
        chroot_run find / -xdev \( -path /proc -o -path /tmp -o -path /var/lib/dpkg -o -path /var/log -o -path /var/cache \) -prune -o -print | sort
}
snapshot >"$work/before.txt"

dpkg_in() {
        chroot_run dpkg --force-confold "$@"
}

dpkg_in -i /tmp/debs/old.deb >"$work/install.log" 2>&1 || { cat "$work/install.log"; die "dpkg -i $old_version failed in the $suite chroot"; }
ok "installed $old_version in the $suite chroot (its Depends met by $suite: $(dpkg-deb -f "$work/debs/old.deb" Depends))"
out=$(chroot_run iommuctl --version) && [[ $out == "iommuctl $version" ]] && ok "installed iommuctl --version: $out" \
        || fail "installed iommuctl --version printed '$out'"
[[ $(chroot_run systemctl is-enabled iommu-verify.service 2>&1) == enabled ]] && ok "iommu-verify.service is enabled" \
        || fail "iommu-verify.service is not enabled: $(chroot_run systemctl is-enabled iommu-verify.service 2>&1)"
# No [Install] section: "static", only the generator pulls it in (and systemctl must answer).
state=$(chroot_run systemctl is-enabled iommu-apply.service 2>&1) || true
[[ $state == static ]] && ok "iommu-apply.service is static, not enabled" \
        || fail "iommu-apply.service is '$state', not static"

# The admin's changes: a site profile, a drop-in, an edited conffile; then a profile applied
# to the chroot's own GRUB defaults and /etc/kernel/cmdline with the installed iommuctl.
chroot_run /bin/sh -ec '
        mkdir -p /etc/iommu/profiles /etc/iommu/iommu.conf.d
        printf "[Profile]\nInclude=gpu-sriov\n" >/etc/iommu/profiles/site-gpu.conf
        printf "[IOMMU]\nProfile=site-gpu\n" >/etc/iommu/iommu.conf.d/50-fleet.conf
        echo "# changed by the admin" >>/etc/iommu/iommu.conf
        iommuctl apply --profile strict --vendor intel --backend grub,kernel-cmdline --no-bootloader-update' \
        >"$work/apply.log" 2>&1 || { cat "$work/apply.log"; die "iommuctl apply in the chroot failed"; }
admin_sums() {
        chroot_run sha256sum /etc/iommu/profiles/site-gpu.conf /etc/iommu/iommu.conf.d/50-fleet.conf /etc/iommu/iommu.conf
}
boot_sums() {
        chroot_run /bin/sh -c '. /etc/default/grub; for f in /etc/default/grub.d/*.cfg; do . "$f"; done; echo "GRUB_CMDLINE_LINUX=$GRUB_CMDLINE_LINUX"; cat /etc/kernel/cmdline'
}
admin_sums >"$work/admin.sha256"
boot_sums >"$work/boot.txt"
grep -q 'intel_iommu=on iommu.passthrough=0 iommu.strict=1' "$work/boot.txt" \
        && ok "installed iommuctl applied profile strict: $(paste -sd' ' "$work/boot.txt")" \
        || fail "apply did not write the profile: $(cat "$work/boot.txt")"

dpkg_in -i /tmp/debs/new.deb >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; die "upgrade to $new_version failed"; }
[[ $(chroot_run dpkg-query -W -f '${Version}' iommuctl) == "$new_version" ]] && ok "upgraded $old_version -> $new_version" \
        || fail "the upgrade to $new_version did not happen"
cmp -s "$work/admin.sha256" <(admin_sums) && ok "the upgrade kept the admin's profile, drop-in and edited iommu.conf" \
        || fail "the upgrade changed the admin's configuration"
[[ $(chroot_run systemctl is-enabled iommu-verify.service 2>&1) == enabled ]] && ok "iommu-verify.service still enabled after the upgrade" \
        || fail "iommu-verify.service not enabled after the upgrade"
# Every package Depends names is a real package of this release, installed here: not an
# old name another package merely Provides (libefivar1 on Debian 13 is libefivar1t64).
for p in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/[|(].*//' -e 's/[[:space:]]//g'); do
        [[ $(chroot_run dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] \
                || fail "Depends names $p, which is not an installed package on $suite (a virtual or old name?)"
done
ok "Depends of the $suite build, each an installed package of $suite: $(dpkg-deb -f "$deb" Depends)"
# No unit, generator or preset left in the old place (a Debian 12 build moved to /usr).
for f in $(dpkg-deb -c "$work/debs/old.deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }'); do
        [[ $f == /lib/* ]] || continue
        chroot_run test -e "$f" && ! chroot_run test -e "/usr$f" && fail "$f of $old_version is left and not replaced" || true
done

# verify, by the installed binary and profiles, against a tree captured from a real boot.
rc=0
chroot_run env IOMMUCTL_PROFILES_PATH=/usr/lib/iommu/profiles iommuctl verify --json --no-journal --profile gpu-sriov \
        --root /srv/fixture/root --kernel-log /srv/fixture/kmsg.txt >"$work/verify.json" 2>"$work/verify.err" || rc=$?
if diff -u "$src/tests/fixtures/hosts/qemu-intel-passthrough/expected/verify-gpu-sriov.json" "$work/verify.json"; then
        [[ $rc -eq 0 ]] && ok "installed iommuctl verify on qemu-intel-passthrough: pass, as expected" \
                || fail "installed iommuctl verify exited $rc: $(cat "$work/verify.err")"
else
        fail "installed iommuctl verify --json differs from the fixture's expected verdict"
fi

# What iommu-verify.service publishes with [Publish] on: the installed iommuctl writes the
# node labels and metrics for the fixture, which are then put where this system's node
# exporter and NFD read them (the default paths), next to a feature file of someone else.
chroot_run /bin/sh -ec '
        f=/srv/fixture/root
        mkdir -p $f/etc/iommu/iommu.conf.d
        printf "[Publish]\nNodeFeatureDiscovery=yes\nPrometheus=yes\n" >$f/etc/iommu/iommu.conf.d/publish.conf
        printf "[IOMMU]\nProfile=gpu-sriov\n" >$f/etc/iommu/iommu.conf.d/profile.conf
        IOMMUCTL_PROFILES_PATH=/usr/lib/iommu/profiles iommuctl verify --no-journal --boot-check --root $f \
                --kernel-log /srv/fixture/kmsg.txt >/dev/null
        mkdir -p /etc/kubernetes/node-feature-discovery/features.d /var/lib/prometheus/node-exporter
        cp $f/etc/kubernetes/node-feature-discovery/features.d/iommu /etc/kubernetes/node-feature-discovery/features.d/iommu
        cp $f/var/lib/prometheus/node-exporter/iommu.prom /var/lib/prometheus/node-exporter/iommu.prom
        echo "example.org/rack=r12" >/etc/kubernetes/node-feature-discovery/features.d/site' \
        >"$work/publish.log" 2>&1 && ok "installed iommuctl published node labels and metrics" \
        || fail "publishing with the installed iommuctl failed: $(cat "$work/publish.log")"

# --- remove, purge -----------------------------------------------------------------------
# Files that talk about the tool: while it is installed, at least the GRUB drop-in apply wrote.
talking() {
        chroot_run grep -rIl -e 'iommuctl rollback' -e 'iommuctl apply' /etc /var /boot \
                --exclude-dir=dpkg --exclude-dir=log --exclude-dir=cache 2>/dev/null || true
}
grep -qx /etc/default/grub.d/60-iommu.cfg <<<"$(talking)" && ok "before removal, the GRUB drop-in says how to undo it with iommuctl" \
        || fail "the GRUB drop-in apply wrote does not mention iommuctl: $(talking)"
dpkg_in --remove iommuctl >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; die "dpkg --remove failed"; }
n=$(grep -c "keeps the IOMMU parameters iommuctl applied" "$work/remove.log" || true)
[[ $n -eq 1 ]] && ok "remove says once that the applied parameters stay: $(grep "keeps the IOMMU" "$work/remove.log")" \
        || fail "remove printed the hint $n times: $(cat "$work/remove.log")"
grep -q "run 'iommuctl rollback'" "$work/remove.log" \
        && fail "remove tells to run the tool being removed: $(cat "$work/remove.log")" || ok "remove does not tell to run the tool being removed"
chroot_run test -f /var/lib/iommu/changesets/00000001/complete && ok "remove keeps the change sets" || fail "remove deleted /var/lib/iommu"
chroot_run test ! -e /etc/kubernetes/node-feature-discovery/features.d/iommu -a ! -e /var/lib/prometheus/node-exporter/iommu.prom \
        && ok "remove took down the published node labels and metrics (no verify runs any more)" \
        || fail "remove left the published labels or metrics, which now report a check that no longer runs"
chroot_run test -f /etc/kubernetes/node-feature-discovery/features.d/site && ok "remove kept the feature file iommuctl did not write" \
        || fail "remove deleted a feature file iommuctl did not write"
dpkg_in --purge iommuctl >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; die "dpkg --purge failed"; }
chroot_run test ! -e /var/lib/iommu && ok "purge removed /var/lib/iommu" || fail "purge left /var/lib/iommu"
cmp -s "$work/boot.txt" <(boot_sums) && ok "purge left the applied boot parameters as they were (no rollback behind the admin's back)" \
        || fail "purge changed the boot parameters: $(boot_sums | paste -sd' ')"
cmp -s <(grep -e profiles/ -e iommu.conf.d/ "$work/admin.sha256") <(admin_sums 2>/dev/null | grep -e profiles/ -e iommu.conf.d/) \
        && ok "purge kept the admin's own profile and drop-in" || fail "purge removed the admin's own files"
# No file is left that talks about the tool as if it were there.
talk=$(talking)
[[ -z $talk ]] && ok "after purge no file mentions iommuctl rollback or apply" \
        || fail "after purge these files still talk about iommuctl: $talk"
ok "the GRUB drop-in after purge: $(chroot_run head -n 2 /etc/default/grub.d/60-iommu.cfg | paste -sd' ')"
snapshot >"$work/after.txt"
extra=$(comm -13 "$work/before.txt" "$work/after.txt" \
        | grep -v -e '^/etc/iommu$' -e '^/etc/iommu/profiles' -e '^/etc/iommu/iommu.conf.d' \
                  -e '^/etc/default/grub.d/60-iommu.cfg$' -e '^/var/lib/systemd/deb-systemd-helper-' \
                  -e '^/etc/systemd/system$' -e '^/var/lib/systemd$' -e '^/etc/systemd/system/multi-user.target.wants$' \
                  -e '^/srv/fixture/' -e '^/etc/kubernetes' -e '^/var/lib/prometheus' || true)
[[ -z $extra ]] && ok "purge left nothing else of the package" || fail "left behind after purge: $(paste -sd' ' <<<"$extra")"

echo "($suite leg: $((SECONDS - t0)) s)"
finish
