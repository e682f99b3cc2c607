#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 22.4: where Profile= and Vendor= come from (file and line, the option, or the selection
# 'iommuctl apply --profile' recorded), shown by config, plan, status and profiles --selected; a
# drop-in shadowed by another and a selection that disagrees with the configuration are warnings.
set -uo pipefail
IOMMUCTL=${IOMMUCTL:?}
export IOMMUCTL_PROFILES_PATH=${SRCDIR:?}/profiles
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

root=$tmp/host
mkdir -p "$root/proc" "$root/sys/firmware/acpi/tables" "$root/etc/iommu/iommu.conf.d" "$root/etc/kernel"
echo "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet" >"$root/proc/cmdline"
printf 'DMAR' >"$root/sys/firmware/acpi/tables/DMAR"
printf '[IOMMU]\nProfile=strict\n' >"$root/etc/iommu/iommu.conf"
echo "root=UUID=x ro quiet" >"$root/etc/kernel/cmdline"
printf '# the fleet drop-in\n[IOMMU]\n\nProfile=gpu-sriov\n' >"$root/etc/iommu/iommu.conf.d/50-fleet.conf"

# The acceptance: config names the file and line of Profile=.
check "config" 0 "$IOMMUCTL" --root "$root" config
contains "config names file:line of Profile=" "$out" "# $root/etc/iommu/iommu.conf.d/50-fleet.conf:4
IOMMU.Profile=gpu-sriov"
lacks "a drop-in overriding iommu.conf is no warning" "$err" "warning"
lacks "a drop-in overriding iommu.conf is no warning" "$err" "shadowed"
check "config --no-legend" 0 "$IOMMUCTL" --root "$root" config --no-legend
lacks "--no-legend drops the origins" "$out" "#"
check "config one value stays a value" 0 "$IOMMUCTL" --root "$root" config IOMMU.Profile
[ "$out" = gpu-sriov ] && ok "config IOMMU.Profile prints the value alone" || not_ok "config IOMMU.Profile: $out"
check "config --json" 0 "$IOMMUCTL" --root "$root" config --json
python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == 1, d
o = d["origins"]["IOMMU.Profile"]
assert o["file"].endswith("/etc/iommu/iommu.conf.d/50-fleet.conf") and o["line"] == 4 and not o["selection"], o
assert d["origins"]["IOMMU.Vendor"] is None
assert [s["value"] for s in d["shadowed"]] == ["strict"], d["shadowed"]
' <<<"$out" && ok "config --json: version, origins, shadowed" || not_ok "config --json: $out"

check "plan" 0 "$IOMMUCTL" --root "$root" plan
contains "plan: Profile= from file:line" "$out" "From:     Profile= $root/etc/iommu/iommu.conf.d/50-fleet.conf:4, Vendor= detected"
check "plan --profile" 0 "$IOMMUCTL" --root "$root" plan --profile strict --vendor intel
contains "plan: --profile named as the source" "$out" "From:     Profile= --profile on the command line, Vendor= --vendor on the command line"
check "plan --json" 0 "$IOMMUCTL" --root "$root" plan --json
python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["profile"]["origin"]["line"] == 4, d["profile"]
assert d["host"]["vendor_origin"] is None
' <<<"$out" && ok "plan --json: profile.origin" || not_ok "plan --json: $out"

check "profiles --selected" 0 "$IOMMUCTL" --root "$root" profiles --selected
[ "$out" = gpu-sriov ] && ok "profiles --selected: the name alone on stdout" || not_ok "profiles --selected: $out"
contains "profiles --selected: the origin on stderr" "$err" "Profile=gpu-sriov from $root/etc/iommu/iommu.conf.d/50-fleet.conf:4"
check "profiles --selected --json" 0 "$IOMMUCTL" --root "$root" profiles --selected --json
python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == 1 and d["selected"] == "gpu-sriov" and d["origin"]["line"] == 4, d
' <<<"$out" && ok "profiles --selected --json" || not_ok "profiles --selected --json: $out"

check "status" 0 "$IOMMUCTL" --root "$root" status
contains "status: Profile= from file:line" "$out" "From:      Profile= $root/etc/iommu/iommu.conf.d/50-fleet.conf:4"

# A later drop-in shadowing the fleet's: a warning naming both places.
printf '[IOMMU]\nProfile=strict\nVendor=intel\n' >"$root/etc/iommu/iommu.conf.d/90-local.conf"
check "config with a shadowed drop-in" 0 "$IOMMUCTL" --root "$root" config
contains "shadowed drop-in warned" "$err" "$root/etc/iommu/iommu.conf.d/50-fleet.conf:4: Profile=gpu-sriov is shadowed by Profile=strict in $root/etc/iommu/iommu.conf.d/90-local.conf:2."
contains "Vendor= names its line" "$out" "# $root/etc/iommu/iommu.conf.d/90-local.conf:3
IOMMU.Vendor=intel"
check "plan warns too" 0 "$IOMMUCTL" --root "$root" plan
contains "plan: shadowed drop-in warned" "$err" "is shadowed by Profile=strict"
contains "plan: Vendor= from file:line" "$out" "Vendor= $root/etc/iommu/iommu.conf.d/90-local.conf:3"
rm "$root/etc/iommu/iommu.conf.d/90-local.conf"

# The selection apply records wins (iommu.conf(5), Precedence), but never silently.
check "apply --profile records a selection" 0 "$IOMMUCTL" --root "$root" apply --profile strict --backend kernel-cmdline --no-bootloader-update
check "config after apply --profile" 0 "$IOMMUCTL" --root "$root" config
contains "config: the selection is the origin" "$out" "# $root/etc/iommu/selection:6 (the selection recorded by 'iommuctl apply')
IOMMU.Profile=strict"
contains "config: the disagreement is a warning" "$err" "50-fleet.conf:4: Profile=gpu-sriov is overridden by the selection 'iommuctl apply --profile' recorded in $root/etc/iommu/selection:6"
check "status after apply --profile" 0 "$IOMMUCTL" --root "$root" status
contains "status: warns about the disagreement" "$err" "is overridden by the selection"
contains "status: the selection is the origin" "$out" "selection recorded by 'iommuctl apply'"
check "profiles --selected after apply --profile" 0 "$IOMMUCTL" --root "$root" profiles --selected
contains "profiles --selected: warns" "$err" "is overridden by the selection"
# Agreeing configuration: no warning.
printf '[IOMMU]\nProfile=strict\n' >"$root/etc/iommu/iommu.conf.d/50-fleet.conf"
check "config, selection agrees" 0 "$IOMMUCTL" --root "$root" config
lacks "no warning when they agree" "$err" "overridden"
check_done
