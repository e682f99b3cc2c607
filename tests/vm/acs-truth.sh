#!/bin/bash
# Issue 25: what the kernel does to ACS on PCIe ports, and whether iommuctl predicts it and judges
# the peer-to-peer path from it.
#
# Boots Debian's 6.1 (bookworm) and 6.12 (trixie) kernels under QEMU (TCG) on q35 with the ACS
# topology of tests/vm/lib.sh (VM_TOPOLOGY=acs: root port 00:10.0 with an x3130 switch holding an
# e1000e and an NVMe controller, root port 00:11.0 with a second NVMe controller), with Intel VT-d
# or AMD-Vi, the IOMMU on, off, and with the redirect lifted (pci=disable_acs_redir=, and
# pci=config_acs= on 6.12). Each guest's sysfs comes back through tools/iommu-capture-host (config
# spaces included). Per case and root port it prints iommuctl's prediction next to the ACS
# Control read from the captured config space (read here with od, not with iommuctl), and asserts:
#   - the observed bits are the ones this case expects (the measured kernel behaviour);
#   - `iommuctl verify --json` predicted them (p2p.ports[].acs_ctrl_predicted) and read them;
#   - the groups: lifting the redirect at 00:10.0 merges everything below it into one group;
#   - verify's p2p check has the result the profile's intent calls for.
#
#   tests/vm/acs-truth.sh [-j JOBS] [-k DIR] [-l] [NAME...]
#     -j JOBS   boots at a time (default 2)
#     -k DIR    keep console logs, captured trees and verify JSON in DIR/<case>/
#     -l        list the cases and exit
set -euo pipefail

# These boots are short (10-40 s alone), but on a loaded CI machine TCG can take minutes.
VM_TIMEOUT=${VM_TIMEOUT:-300}
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IOMMUCTL_BIN=${IOMMUCTL_BIN:-$VM_REPO/build/src/iommuctl}
export IOMMUCTL_PROFILES_PATH=${IOMMU_PROFILES_DIR:-$VM_REPO/profiles}

# name|target|suite|kernel command line|profile|ACSCtl 00:10.0|ACSCtl 00:11.0|merged|p2p
#   merged: yes (00:10.0 and both endpoints below it in one group), no (the endpoints in groups
#   of their own), none (no IOMMU groups)
CASES=(
	"6.1-intel-passthrough|intel||intel_iommu=on iommu=pt|gpu-sriov|0x001d|0x001d|no|pass"
	"6.1-intel-redir-lifted|intel||intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0|gpu-sriov|0x0011|0x001d|yes|warn"
	"6.1-intel-off|intel||intel_iommu=off|bare-metal|0x0000|0x0000|none|pass"
	"6.1-amd-off|amd||amd_iommu=off|bare-metal|0x001d|0x001d|none|warn"
	"6.12-intel-passthrough|intel|trixie|intel_iommu=on iommu=pt|gpu-sriov|0x001d|0x001d|no|pass"
	"6.12-intel-redir-lifted|intel|trixie|intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0|gpu-sriov|0x0000|0x001d|yes|warn"
	"6.12-intel-config-acs|intel|trixie|intel_iommu=on iommu=pt pci=config_acs=100x1@0000:00:10.0|gpu-sriov|0x0011|0x001d|yes|warn"
)

# acs_ctrl CONFIG: the ACS Control register of a config space file, found by walking the extended
# capability list with od (independent of iommuctl's parser); "none" without an ACS capability.
acs_ctrl() {
	local f=$1 pos=256 hdr
	while ((pos > 0 && pos + 8 <= $(stat -c %s "$f"))); do
		hdr=$(od -An -tu4 -j "$pos" -N4 "$f" | tr -d ' ')
		((hdr != 0 && hdr != 4294967295)) || break
		if (((hdr & 0xffff) == 0x000d)); then
			printf '0x%04x\n' "$(od -An -tu2 -j $((pos + 6)) -N2 "$f" | tr -d ' ')"
			return
		fi
		pos=$(((hdr >> 20) & 0xffc))
	done
	echo none
}

group_of() { # group_of TREE BDF
	local l
	l=$(readlink "$1/sys/bus/pci/devices/$2/iommu_group" 2>/dev/null) || {
		echo -
		return
	}
	echo "${l##*/}"
}

run_case() {
	local name target suite cmdline profile want10 want11 merged want_p2p
	IFS='|' read -r name target suite cmdline profile want10 want11 merged want_p2p <<<"$1"
	# shellcheck disable=SC2034 # VM_SUITE and VM_TOPOLOGY are read by lib.sh
	local VM_SUITE=$suite VM_TOPOLOGY=acs work=$SCRATCH/$name fails=0 tree json
	vm_capture "$target" "$cmdline" "$SCRATCH/initrd-${suite:-default}.gz" "$work" || {
		echo "FAIL $name: boot (see $work/console.log)"
		return 1
	}
	tree=$work/capture/root
	json=$work/verify.json
	"$IOMMUCTL_BIN" verify --json --no-journal --profile "$profile" --root "$tree" >"$json" 2>"$work/verify.err" || true
	local release port want got predicted
	release=$(cat "$tree/proc/sys/kernel/osrelease")
	for port in 0000:00:10.0 0000:00:11.0; do
		[[ $port == 0000:00:10.0 ]] && want=$want10 || want=$want11
		got=$(acs_ctrl "$tree/sys/bus/pci/devices/$port/config")
		predicted=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d.get("p2p", {}).get("ports", []):
    if p["address"] == sys.argv[2]:
        print(p["acs_ctrl_predicted"] or "firmware", p["acs_ctrl"]); break
else:
    print("- -")' "$json" "$port")
		local pred=${predicted% *} read_by_iommuctl=${predicted#* }
		# "firmware": the kernel leaves the port alone; QEMU's reset value is 0.
		local pred_value=$pred
		[[ $pred != firmware ]] || pred_value=0x0000
		printf '%-24s %-22s %s  %s  predicted %-10s observed %s (expected %s)\n' "$name" "$release" "${cmdline:-(nothing)}" "$port" \
			"$pred" "$got" "$want"
		[[ $got == "$want" ]] || { echo "FAIL $name: $port ACSCtl $got, expected $want"; fails=1; }
		[[ $pred_value == "$got" ]] || { echo "FAIL $name: $port iommuctl predicted $pred, the kernel set $got"; fails=1; }
		[[ $read_by_iommuctl == "$got" ]] || { echo "FAIL $name: $port iommuctl read $read_by_iommuctl, config has $got"; fails=1; }
	done
	local g10 g4 g5
	g10=$(group_of "$tree" 0000:00:10.0)
	g4=$(group_of "$tree" 0000:04:00.0)
	g5=$(group_of "$tree" 0000:05:00.0)
	case $merged in
	yes) [[ $g10 != - && $g10 == "$g4" && $g4 == "$g5" ]] || { echo "FAIL $name: groups not merged below 00:10.0 ($g10 $g4 $g5)"; fails=1; } ;;
	no) [[ $g4 != - && $g4 != "$g5" && $g4 != "$g10" ]] || { echo "FAIL $name: groups merged ($g10 $g4 $g5)"; fails=1; } ;;
	none) [[ $g10 == - && $g4 == - ]] || { echo "FAIL $name: groups exist ($g10 $g4)"; fails=1; } ;;
	esac
	local p2p
	p2p=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(next((c["result"] + ": " + c["evidence"] for c in d["checks"] if c["id"] == "p2p"), "none"))' "$json")
	printf '%-24s groups 00:10.0=%s 04:00.0=%s 05:00.0=%s; p2p %s\n' "$name" "$g10" "$g4" "$g5" "$p2p"
	[[ ${p2p%%:*} == "$want_p2p" ]] || { echo "FAIL $name: p2p ${p2p%%:*}, expected $want_p2p"; fails=1; }
	if [[ -n ${KEEP:-} ]]; then
		mkdir -p "$KEEP/$name"
		cp -a "$work/." "$KEEP/$name/"
	fi
	((fails == 0)) && echo "PASS $name"
	return $fails
}

main() {
	local jobs=2 c suite
	KEEP=
	while getopts 'j:k:lh' opt; do
		case $opt in
		j) jobs=$OPTARG ;;
		k) KEEP=$OPTARG ;;
		l)
			printf '%s\n' "${CASES[@]%%|*}"
			return 0
			;;
		*)
			sed -n '2,20p' "$0" >&2
			return 2
			;;
		esac
	done
	shift $((OPTIND - 1))
	vm_select_cases CASES "$@"
	[[ -x $IOMMUCTL_BIN ]] || vm_err "no iommuctl at $IOMMUCTL_BIN (build first)"
	SCRATCH=$(mktemp -d)
	trap 'rm -rf "$SCRATCH"' EXIT
	local -A suites=()
	for c in "${VM_SELECTED[@]}"; do
		IFS='|' read -r _ _ suite _ <<<"$c"
		suites[${suite:-default}]=1
	done
	for suite in "${!suites[@]}"; do
		[[ $suite != default ]] || suite=
		VM_SUITE=$suite vm_fetch_kernel amd64
		VM_SUITE=$suite vm_build_capture_initramfs amd64 "$SCRATCH/initrd-${suite:-default}.gz"
	done
	local rc=0
	vm_each_parallel "$jobs" run_case "${VM_SELECTED[@]}" || rc=1
	echo "acs-truth: ${#VM_SELECTED[@]} cases, $([[ $rc -eq 0 ]] && echo all passed || echo some FAILED)"
	return $rc
}

main "$@"
