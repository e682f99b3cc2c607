#!/bin/bash
# What the kernel really does with the IOMMU command lines people write.
#
# Boots Debian 12's kernel under QEMU (TCG) once per case, captures the
# guest's sysfs and kernel log with tools/iommu-capture-host and checks them
# against the case's expectations. Prints one line per case, then
# "N passed, N failed"; exits non-zero if any case failed.
#
#   tests/vm/kernel-truth.sh [-j JOBS] [-k DIR] [NAME...]
#     -j JOBS   boots at a time (default 2)
#     -k DIR    keep console logs and captured trees in DIR/<case>/
#
# IOMMUCTL_BIN=path/to/iommuctl: the binary and its libraries go into the
# initramfs and the guest also runs
#   iommuctl verify --root / --json --no-journal --profile PROFILE
# whose exit status must match the case's verify column; its JSON is kept
# with -k. TO BE WIRED UP: the verify column is what the profile is meant to
# conclude, and the JSON is not inspected yet; both need revisiting once
# `iommuctl verify` exists.

set -euo pipefail

# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# name|target|kernel command line|profile|verify|expectations
#   target: intel, amd, none (x86 q35) or arm64 (virt, SMMUv3)
#   expectations, ";"-separated, all must hold:
#     type=T     at least one IOMMU group, and every group's type is T
#     groups=0   no IOMMU group and no IOMMU unit in /sys/class/iommu
#     log=TEXT   the kernel log contains TEXT
CASES=(
	# Wrong but popular spellings.
	"intel-iommu-strict-wrong|intel|intel_iommu=on iommu=strict|strict|fail|type=DMA-FQ;log=DMA domain TLB invalidation policy: lazy mode"
	"amd-on-wrong|amd|amd_iommu=on iommu=pt|gpu-sriov|pass|type=identity;log=AMD-Vi: Unknown option - 'on'"
	"iommu-on-wrong|intel|intel_iommu=off amd_iommu=off iommu=on|gpu-sriov|fail|groups=0;log=DMAR: IOMMU disabled"
	"arm64-iommu-pt-wrong|arm64|iommu=pt|gpu-sriov|fail|type=DMA"
	# The command lines the shipped profiles write.
	"gpu-sriov-intel|intel|intel_iommu=on iommu=pt|gpu-sriov|pass|type=identity;log=Default domain type: Passthrough (set via kernel command line)"
	"gpu-sriov-amd|amd|iommu=pt|gpu-sriov|pass|type=identity;log=Default domain type: Passthrough (set via kernel command line)"
	"gpu-sriov-arm64|arm64|iommu.passthrough=1|gpu-sriov|pass|type=identity"
	"strict-intel|intel|intel_iommu=on iommu.passthrough=0 iommu.strict=1|strict|pass|type=DMA;log=strict mode (set via kernel command line)"
	"strict-amd|amd|iommu.passthrough=0 iommu.strict=1|strict|pass|type=DMA;log=strict mode (set via kernel command line)"
	"strict-arm64|arm64|iommu.passthrough=0 iommu.strict=1|strict|pass|type=DMA"
	"bare-metal-intel|intel|intel_iommu=off iommu=off|bare-metal|pass|groups=0"
	"bare-metal-amd|amd|amd_iommu=off iommu=off|bare-metal|pass|groups=0"
	"generic-intel|intel|intel_iommu=off amd_iommu=off|generic|pass|groups=0"
	"generic-amd|amd|intel_iommu=off amd_iommu=off|generic|pass|groups=0"
)

usage() {
	echo "Usage: $0 [-j JOBS] [-k DIR] [NAME...]"
	echo "Cases:"
	printf '  %s\n' "${CASES[@]%%|*}"
}

# --- reading a captured tree -------------------------------------------------------

group_types() {
	local root=$1 g
	for g in "$root"/sys/kernel/iommu_groups/*/; do
		[[ -f $g/type ]] && cat "$g/type"
	done
	return 0
}

iommu_units() {
	local root=$1
	[[ -d $root/sys/class/iommu ]] || return 0
	find "$root/sys/class/iommu" -mindepth 1 -maxdepth 1 -printf '%f\n'
}

# "5 groups (DMA-FQ x5), units: dmar0", for people reading a failure.
describe_tree() {
	local root=$1 types units
	types=$(group_types "$root" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
	units=$(iommu_units "$root" | paste -sd' ')
	printf '%s groups%s, units: %s' "$(group_types "$root" | wc -l)" "${types:+ ($types)}" "${units:-none}"
}

# check_expectation ROOT KMSG EXPECTATION: succeed or print what was wrong.
check_expectation() {
	local root=$1 kmsg=$2 expect=$3 want
	case $expect in
	type=*)
		want=${expect#type=}
		if [[ -z $(group_types "$root") ]] || group_types "$root" | grep -qvxF "$want"; then
			echo "expected every group $want, saw $(describe_tree "$root")"
			return 1
		fi
		;;
	groups=0)
		if [[ -n $(group_types "$root") || -n $(iommu_units "$root") ]]; then
			echo "expected no groups and no IOMMU unit, saw $(describe_tree "$root")"
			return 1
		fi
		;;
	log=*)
		want=${expect#log=}
		if ! grep -qF -- "$want" "$kmsg"; then
			echo "kernel log lacks \"$want\""
			return 1
		fi
		;;
	*)
		echo "unknown expectation '$expect'"
		return 1
		;;
	esac
}

# check_verify WORK WANT: the guest's `iommuctl verify` exit status against
# pass|fail. TO BE WIRED UP: also check the JSON verdict once its schema exists.
check_verify() {
	local work=$1 want=$2 rc
	if ! vm_extract "$work/console.log" verify-json "$work/verify.json" ||
		! vm_extract "$work/console.log" verify-rc "$work/verify.rc"; then
		echo "no iommuctl verify output from the guest"
		return 1
	fi
	rc=$(<"$work/verify.rc")
	case $want:$rc in
	pass:0 | fail:[1-9]*) return 0 ;;
	esac
	echo "iommuctl verify exited $rc, expected $want"
	return 1
}

# --- running a case -----------------------------------------------------------------

# run_case ROW: boot, check, and leave "PASS|FAIL name (Ns): detail" in
# $RESULTS/name. Always succeeds, so one bad boot does not stop the others.
run_case() {
	local name target cmdline profile verify expects work start why='' expect arch
	IFS='|' read -r name target cmdline profile verify expects <<<"$1"
	local -a expectations
	IFS=';' read -ra expectations <<<"$expects"
	arch=$(vm_target_arch "$target")
	work=$WORKDIR/$name
	rm -rf "$work"
	mkdir -p "$work"
	start=$EPOCHREALTIME
	if ! vm_initramfs_with_env "$WORKDIR/initrd-$arch.gz" "$work/initrd.gz" \
		"VM_PROFILE=$profile" "VM_CASE=$name" 2>"$work/boot.err"; then
		why="cannot build the initramfs"
	elif ! vm_capture "$target" "$cmdline" "$work/initrd.gz" "$work" 2>"$work/boot.err"; then
		why="boot failed: $(tail -n 1 "$work/boot.err")"
	else
		for expect in "${expectations[@]}"; do
			why=$(check_expectation "$work/capture/root" "$work/capture/kmsg.txt" "$expect") || break
			why=
		done
		# iommuctl is built for this machine, so only amd64 guests run it.
		if [[ -z $why && -n ${IOMMUCTL_BIN:-} && $arch == amd64 ]]; then
			why=$(check_verify "$work" "$verify") || true
		fi
	fi
	local secs
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	if [[ -z $why ]]; then
		echo "PASS $name (${secs}s): ${cmdline:-(empty)} -> $(describe_tree "$work/capture/root")" >"$RESULTS/$name"
	else
		echo "FAIL $name (${secs}s): ${cmdline:-(empty)}: $why" >"$RESULTS/$name"
		[[ -s $work/boot.err ]] && sed 's/^/    /' "$work/boot.err" >&2
	fi
	rm -f "$work/initrd.gz"
	return 0
}

main() {
	local jobs=2 keep='' opt row arch passed=0 failed=0 start
	while getopts 'j:k:h' opt; do
		case $opt in
		j) jobs=$OPTARG ;;
		k) keep=$OPTARG ;;
		h)
			usage
			return 0
			;;
		*)
			usage >&2
			return 2
			;;
		esac
	done
	shift $((OPTIND - 1))
	vm_select_cases CASES "$@"

	start=$EPOCHREALTIME
	if [[ -n $keep ]]; then
		mkdir -p "$keep"
		WORKDIR=$(cd "$keep" && pwd)
	else
		WORKDIR=$(mktemp -d)
		trap 'rm -rf "$WORKDIR"' EXIT
	fi
	RESULTS=$WORKDIR/.results
	rm -rf "$RESULTS"
	mkdir -p "$RESULTS"

	local -a extra=()
	if [[ -n ${IOMMUCTL_BIN:-} ]]; then
		extra=("bin:$IOMMUCTL_BIN:/bin/iommuctl")
	fi
	local -A archs=()
	for row in "${VM_SELECTED[@]}"; do
		row=${row#*|}
		archs[$(vm_target_arch "${row%%|*}")]=1
	done
	for arch in "${!archs[@]}"; do
		vm_fetch_kernel "$arch"
		if [[ $arch == amd64 ]]; then
			vm_build_capture_initramfs "$arch" "$WORKDIR/initrd-$arch.gz" "${extra[@]}"
		else
			vm_build_capture_initramfs "$arch" "$WORKDIR/initrd-$arch.gz"
		fi
	done

	vm_each_parallel "$jobs" run_case "${VM_SELECTED[@]}"

	local result
	for row in "${VM_SELECTED[@]}"; do
		result=$(cat "$RESULTS/${row%%|*}" 2>/dev/null) || result="FAIL ${row%%|*}: no result (the case script died)"
		echo "$result"
		case $result in
		PASS*) passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done
	echo "# wall time $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s for ${#VM_SELECTED[@]} boots, $jobs at a time"
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 ]]
}

main "$@"
