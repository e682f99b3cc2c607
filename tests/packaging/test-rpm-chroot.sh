#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-rpm.sh inside a Debian chroot (tests/packaging/chroot-lib.sh), for that release's rpm
# and rpmlint: Debian 13 has rpm 4.20 and rpmlint 2.7, Debian 12 (where test-rpm.sh runs
# on the build machine) rpm 4.18 and rpmlint 2.4. The RPM's %check is skipped there
# (rpmbuild --nocheck): the chroot holds the package's Build-Depends without the test
# tools, and the same suite runs in the RPM build of test-rpm.sh on the build machine.
#
#   tests/packaging/test-rpm-chroot.sh SRCDIR SUITE

src=$(cd "${1:?usage: $0 SRCDIR SUITE}" && pwd)
suite=${2:?usage: $0 SRCDIR SUITE}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/chroot-lib.sh"

need_tools debootstrap unshare chroot flock tar
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mount namespaces)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Killed (a meson timeout): still the EXIT trap. The mounts live in the commands' own
# namespaces and are gone with them.
trap 'exit 143' INT TERM HUP

chroot_ensure "$suite" nocheck rpm rpmlint git xz-utils || die "no $suite chroot"
chroot_session "$suite" "$work/session" || die "no $suite session"
copy_source_tree "$src" "$work/iommuctl"
rm -rf "$work/iommuctl"/build* "$work/iommuctl/debian"
chroot_put "$work/iommuctl" /build || die "copying the tree into the chroot failed"
echo "$suite: $(chroot_run rpm --version), rpmlint $(chroot_run rpmlint --version)"
chroot_run env IOMMU_RPM_NOCHECK=1 bash /build/iommuctl/tests/packaging/test-rpm.sh /build/iommuctl /build/work
