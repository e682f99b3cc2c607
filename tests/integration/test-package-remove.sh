#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# packaging/scripts/package-remove, which the .deb's prerm and the .rpm's %preun run on removal
# (issue 22.6): the hint about the applied boot parameters comes only when a change set is left
# to roll back, and does not tell to run the tool being removed; published labels and metrics
# that iommuctl wrote go, the admin's own files stay.
set -uo pipefail
IOMMUCTL=${IOMMUCTL:?}
export IOMMUCTL
export IOMMUCTL_PROFILES_PATH=${SRCDIR:?}/profiles
hook=$SRCDIR/packaging/scripts/package-remove
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

root=$tmp/root
mkdir -p "$root/proc" "$root/sys/firmware/acpi/tables" "$root/etc/kernel" "$root/etc/iommu"
echo "BOOT_IMAGE=/vmlinuz root=UUID=x ro" >"$root/proc/cmdline"
printf 'DMAR' >"$root/sys/firmware/acpi/tables/DMAR"
echo "root=UUID=x ro" >"$root/etc/kernel/cmdline"

check "nothing applied: no hint" 0 "$hook" "$root"
[ -z "$err$out" ] && ok "nothing applied: silent" || not_ok "nothing applied: printed: $out$err"

check "apply" 0 "$IOMMUCTL" --root "$root" apply --profile gpu-sriov --backend kernel-cmdline
check "applied: the hint" 0 "$hook" "$root"
contains "applied: says the parameters stay" "$err" "the boot configuration keeps the IOMMU parameters iommuctl applied"
contains "applied: says how undo stays possible" "$err" "reinstalling iommuctl can roll them back"
lacks "applied: does not tell to run the tool being removed" "$err" "run 'iommuctl rollback'"

check "rollback" 0 "$IOMMUCTL" --root "$root" rollback
check "rolled back: no hint" 0 "$hook" "$root"
[ -d "$root/var/lib/iommu/changesets" ] && [ -n "$(ls -A "$root/var/lib/iommu/changesets")" ] &&
        ok "rolled back: the change sets are still there" || not_ok "rolled back: no change sets left to test with"
lacks "rolled back: nothing left to roll back, no hint" "$err" "keeps the IOMMU parameters"

# Without a working iommuctl (already gone): the change set directory decides, and a rolled
# back set is nothing left to roll back.
check "no iommuctl: a rolled back change set" 0 env IOMMUCTL=/nonexistent/iommuctl "$hook" "$root"
lacks "no iommuctl: no hint for a rolled back set" "$err" "keeps the IOMMU parameters"
check "apply again" 0 "$IOMMUCTL" --root "$root" apply --profile gpu-sriov --backend kernel-cmdline
check "no iommuctl: a change set left" 0 env IOMMUCTL=/nonexistent/iommuctl "$hook" "$root"
contains "no iommuctl: the hint from the change set directory" "$err" "keeps the IOMMU parameters"
# Without IOMMUCTL the root's own binary is used (a chrootless dpkg runs the prerm from outside).
mkdir -p "$root/usr/bin"
printf '#!/bin/sh\necho "$@" >>"%s/ran"\nexit 2\n' "$tmp" >"$root/usr/bin/iommuctl"
chmod +x "$root/usr/bin/iommuctl"
check "the root's iommuctl" 0 env -u IOMMUCTL "$hook" "$root"
grep -q -- "--root $root -q rollback --dry-run --json" "$tmp/ran" && ok "runs ROOT/usr/bin/iommuctl" || not_ok "did not run ROOT/usr/bin/iommuctl"
rm "$root/usr/bin/iommuctl"
"$IOMMUCTL" --root "$root" rollback >/dev/null 2>&1

# Published state: iommuctl's files go (at the configured and the default path), the admin's stay.
mkdir -p "$root/etc/kubernetes/node-feature-discovery/features.d" "$root/srv/metrics"
printf '# IOMMU state of this node, written by "iommuctl verify"\niommu.mode=passthrough\n' \
        >"$root/etc/kubernetes/node-feature-discovery/features.d/iommu"
printf '# HELP iommu_node_info x\niommu_node_info 1\n' >"$root/srv/metrics/iommu.prom"
printf '[Publish]\nPrometheusPath=/srv/metrics/iommu.prom\n' >"$root/etc/iommu/iommu.conf"
printf 'admin=1\n' >"$root/srv/metrics/other.prom"
check "labels: removal" 0 "$hook" "$root"
[ ! -e "$root/etc/kubernetes/node-feature-discovery/features.d/iommu" ] && ok "NFD labels removed" || not_ok "NFD labels left"
[ ! -e "$root/srv/metrics/iommu.prom" ] && ok "metrics at PrometheusPath= removed" || not_ok "metrics left"
[ -e "$root/srv/metrics/other.prom" ] && ok "the admin's file stays" || not_ok "the admin's file was removed"
printf 'mine=1\n' >"$root/srv/metrics/iommu.prom"
check "an admin's file at the path" 0 "$hook" "$root"
[ -e "$root/srv/metrics/iommu.prom" ] && ok "a file iommuctl did not write stays" || not_ok "an admin's file was removed"

# The packages run it: the .deb's prerm on remove, the .rpm's %preun on erase.
grep -q 'package-remove' "$SRCDIR/packaging/debian/iommuctl.prerm" && ok "prerm runs it" || not_ok "prerm does not run it"
grep -A3 '^%preun' "$SRCDIR/packaging/rpm/iommuctl.spec" | grep -q 'package-remove' && ok "%preun runs it" || not_ok "%preun does not run it"
check_done
