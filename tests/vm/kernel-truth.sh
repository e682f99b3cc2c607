#!/bin/bash
# What the kernel really does with the shipped profiles and with the IOMMU
# command lines people write, and whether iommuctl says so.
#
# Boots Debian's kernels under QEMU (TCG) once per case and release,
# captures the guest's sysfs and kernel log with tools/iommu-capture-host and
# checks them against the case's expectations and against the kernel model's
# prediction. Prints one line per case (release, vendor, case, prediction,
# observation), then "N passed, N failed"; exits non-zero if any case failed.
#
# Releases (KERNEL_TRUTH_SUITES, default "bookworm bullseye trixie sid"): the
# kernel each Debian suite's linux-image-<arch> depends on, resolved at run
# time; bookworm (6.1) through this machine's apt, the others through the
# private apt configuration of lib.sh (VM_SUITE). arm64 boots from 6.1 on
# (KERNEL_TRUTH_ARM64_5_10=1 adds bullseye's arm64 5.10, not part of the
# default matrix).
#
#   tests/vm/kernel-truth.sh [-j JOBS] [-k DIR] [-l] [NAME...]
#     -j JOBS   boots at a time (default 2)
#     -k DIR    keep console logs, captured trees and verify JSON in DIR/<case>/
#     -l        list the cases and exit
#
# IOMMUCTL_BIN (default <repo>/build/src/iommuctl) is the iommuctl under test:
#   - the command line of every profile case is `iommuctl cmdline --profile P
#     --vendor V`, for each shipped profile (profiles/*.conf) and each of
#     intel, amd (q35 with intel-iommu or amd-iommu, intremap=on) and arm64
#     (virt with SMMUv3; profiles without ARM64= tokens are listed, not booted);
#   - `iommuctl lint --json` must report an error for the offending token of
#     every popular-but-wrong line;
#   - every guest runs iommuctl itself, with its shared libraries, the
#     profiles in /usr/lib/iommu/profiles and the vfio modules indexed by
#     depmod: `iommuctl verify --json --profile P --kernel-log <dmesg>`, and
#     the JSON comes back over the serial console. arm64 guests get a binary
#     cross-compiled from this tree with tests/vm/aarch64-linux-gnu.ini
#     (Debian's gcc-aarch64-linux-gnu and the :arm64 -dev packages) into
#     IOMMUCTL_ARM64_BUILD (default <repo>/build-vm-aarch64), or the one
#     IOMMUCTL_ARM64_BIN names.
# The verdict and the observed group types in the JSON must be what the case
# says.

set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IOMMUCTL_BIN=${IOMMUCTL_BIN:-$VM_REPO/build/src/iommuctl}
PROFILES_DIR=${IOMMU_PROFILES_DIR:-$VM_REPO/profiles}
export IOMMUCTL_PROFILES_PATH=$PROFILES_DIR

# What each shipped profile promises about the default domains: a group type
# (every group has it), or "none" (no IOMMU group at all). A profile missing
# here fails the run: a new profile needs its promise proven.
declare -A PROMISE=(
	[gpu-sriov]=identity
	[strict]=DMA
	[lazy]=DMA-FQ
	[bare-metal]=none
	[generic]=none
)
# Kernel log lines a profile's x86 boot must show (the setting was taken from
# the command line, not from the Kconfig default).
declare -A PROFILE_LOG_X86=(
	[gpu-sriov]="Default domain type: Passthrough (set via kernel command line)"
	[strict]="strict mode (set via kernel command line)"
	[lazy]="lazy mode (set via kernel command line)"
)

# Rows: name|target|kernel command line|profile|verdict|expectations
#   target: intel, amd (x86 q35, direct kernel boot) or arm64 (virt, SMMUv3)
#   verdict: what `iommuctl verify --profile PROFILE` must conclude
#   expectations, ";"-separated, all must hold:
#     type=T       at least one IOMMU group, every group's type is T (in the
#                  captured sysfs and in verify's observed.groups)
#     groups=0     no IOMMU group, no IOMMU unit in /sys/class/iommu, and
#                  verify observed mode "off"
#     log=TEXT     the kernel log contains TEXT
#     lint=TOKEN   `iommuctl lint` reports an error for TOKEN on this line
#     check=ID=R   verify's check ID has result R
#     promise=T    verify's profile.domain_type is T ("none": profile.groups false)
#     inferred=V   verify's observed.invalidation is V, marked inferred, and
#                  observed.mode "translated" (kernels before 5.15)
#     nolog=TEXT   the kernel log does not contain TEXT
#     model        (every case) the model's prediction in verify's JSON, made in
#                  the guest from the kernel's own config, matches sysfs
# Rows: name|target|cmdline|profile|verdict|expectations|suite.
# The popular but wrong spellings, with what each release really does (added
# per release by release_cases). amd_iommu=on changes nothing (identity, as
# gpu-sriov wants): verify warns about the token and, on 6.x, the kernel
# log's "Unknown option"; 5.10 ignores it silently. The profiles' own tokens
# in another order (off-reordered) pass.

# The kernel release of SUITE for ARCH as MAJOR*256+MINOR, for the rules
# below that depend on it (the kernel model's own table is params.c).
suite_version() {
	local rel
	rel=$(VM_SUITE=$(suite_var "$1") vm_kernel_release "$2") || return
	awk -F'[.-]' '{ print $1 * 256 + $2 }' <<<"$rel"
}

# "bookworm" is this machine's own apt (VM_SUITE empty): its kernel is cached already.
# "trixie-cloud", "trixie-rt": a Debian kernel flavour (tests/vm/lib.sh VM_SUITE=trixie/cloud).
suite_var() {
	case $1 in
	bookworm) ;;
	*-cloud | *-rt) printf '%s/%s' "${1%-*}" "${1##*-}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# release_cases SUITE: the profile rows and the wrong spellings for one release.
release_cases() {
	local suite=$1 v x86 arm=''
	x86=$(suite_version "$suite" amd64) || return
	if [[ $suite != bullseye || -n ${KERNEL_TRUTH_ARM64_5_10:-} ]]; then
		arm=$(suite_version "$suite" arm64) || return
	else
		NOTES+=("$suite-*-arm64: not booted (arm64 5.10 is not in the default matrix; KERNEL_TRUTH_ARM64_5_10=1 adds it)")
	fi
	profile_cases "$suite" "$x86" "$arm"
	v=$x86
	if ((v >= 5 * 256 + 15)); then
		CASES+=("$suite-intel-iommu-strict-wrong|intel|intel_iommu=on iommu=strict|strict|fail|type=DMA-FQ;log=DMA domain TLB invalidation policy: lazy mode;lint=iommu=strict;check=domain-type=fail;check=token:iommu=strict=warn|$suite")
	else
		CASES+=("$suite-intel-iommu-strict-wrong|intel|intel_iommu=on iommu=strict|strict|fail|type=DMA;inferred=lazy;lint=iommu=strict;check=domain-type=fail;check=token:iommu=strict=warn|$suite")
	fi
	if ((v >= 6 * 256 + 1)); then
		CASES+=("$suite-amd-on-wrong|amd|amd_iommu=on iommu=pt|gpu-sriov|warn|type=identity;log=AMD-Vi: Unknown option - 'on';lint=amd_iommu=on;check=kernel-log=warn;check=cmdline=pass;check=token:amd_iommu=on=warn|$suite")
	else
		CASES+=("$suite-amd-on-wrong|amd|amd_iommu=on iommu=pt|gpu-sriov|warn|type=identity;nolog=Unknown option;lint=amd_iommu=on;check=cmdline=pass;check=token:amd_iommu=on=warn|$suite")
	fi
	CASES+=("$suite-iommu-on-wrong|intel|intel_iommu=off amd_iommu=off iommu=on|gpu-sriov|fail|groups=0;log=DMAR: IOMMU disabled;lint=iommu=on;check=groups=fail;check=token:iommu=on=warn|$suite")
	CASES+=("$suite-iommu-on-generic|intel|intel_iommu=off amd_iommu=off iommu=on|generic|warn|groups=0;check=cmdline=pass;check=token:iommu=on=warn|$suite")
	CASES+=("$suite-off-reordered|intel|iommu=off intel_iommu=off|bare-metal|pass|groups=0;check=cmdline=pass|$suite")
	# VT-d with caching mode, as virtual IOMMUs that shadow page tables run (issue 21): strict with
	# nothing on the line and also with the lazy profile's tokens. Two boots, on trixie's kernel only.
	if [[ $suite == trixie ]]; then
		CASES+=("$suite-cm-strict-default|intel-cm||strict|pass|type=DMA;log=IOMMU batching disallowed due to virtualization;check=domain-type=pass;check=cmdline=pass|$suite")
		CASES+=("$suite-cm-lazy|intel-cm|intel_iommu=on iommu.passthrough=0 iommu.strict=0|lazy|fail|type=DMA;log=IOMMU batching disallowed due to virtualization;check=domain-type=fail;check=cmdline=fail|$suite")
		# Debian's flavours: cloud is built without CONFIG_AMD_IOMMU (no groups on AMD whatever the
		# line; verify names the build and the conflict), rt behaves like the standard kernel.
		CASES+=("$suite-cloud-gpu-sriov-amd|amd|iommu=pt|gpu-sriov|fail|groups=0;log=Default domain type: Passthrough (set via kernel command line);check=groups=fail;check=conflict:no-driver=warn|$suite-cloud")
		CASES+=("$suite-rt-strict-intel|intel|intel_iommu=on iommu.passthrough=0 iommu.strict=1|strict|pass|type=DMA;promise=DMA;log=strict mode (set via kernel command line)|$suite-rt")
	fi
	if [[ -n $arm ]]; then
		CASES+=("$suite-arm64-iommu-pt-wrong|arm64|iommu=pt|gpu-sriov|fail|type=DMA;lint=iommu=pt;check=domain-type=fail;check=token:iommu=pt=warn|$suite")
	fi
}

# profile_cases SUITE X86_VERSION ARM64_VERSION: one row per shipped profile and
# target into CASES, the command line computed by iommuctl; NOTES gets the
# profiles not booted. ARM64_VERSION empty: no arm64 rows.
profile_cases() {
	local suite=$1 x86=$2 arm=$3 conf profile target vendor cmdline expects err verdict v
	for conf in "$PROFILES_DIR"/*.conf; do
		profile=$(basename "$conf" .conf)
		[[ -n ${PROMISE[$profile]:-} ]] ||
			vm_err "profile $profile ($conf) has no promise in kernel-truth.sh's PROMISE table" || return
		for target in intel amd arm64; do
			vendor=$target
			v=$x86
			if [[ $target == arm64 ]]; then
				[[ -n $arm ]] || continue
				v=$arm
			fi
			# The tokens the kernel model chooses for this suite's kernel and its build
			# configuration (issue 21: intel_iommu=strict on 5.10, iommu.strict=1 from 5.15).
			local karch=amd64
			[[ $target != arm64 ]] || karch=arm64
			if ! cmdline=$("$IOMMUCTL_BIN" cmdline --root "$WORKDIR" --profile "$profile" --vendor "$vendor" \
				--kernel "$(VM_SUITE=$(suite_var "$suite") vm_kernel_release "$karch")" \
				--config "$(VM_SUITE=$(suite_var "$suite") vm_kernel_config "$karch")" 2>"$WORKDIR/cmdline.err"); then
				err=$(<"$WORKDIR/cmdline.err")
				if [[ $target == arm64 && ($err == *"no kernel arguments for arm64"* || $err == *"cannot be kept on arm64"*) ]]; then
					NOTES+=("$suite-$profile-arm64: not booted: $err")
					continue
				fi
				vm_err "iommuctl cmdline --profile $profile --vendor $vendor: $err" || return
			fi
			verdict=pass
			if [[ ${PROMISE[$profile]} == none ]]; then
				expects="groups=0;promise=none"
			else
				expects="type=${PROMISE[$profile]};promise=${PROMISE[$profile]}"
			fi
			# Before 5.15 lazy and strict both read DMA and 5.10 logs no invalidation policy:
			# the model chose intel_iommu=strict / amd_iommu=fullflush for strict, and verify
			# infers strict (or lazy) from the line and the build.
			if [[ ($profile == strict || $profile == lazy) && $target != arm64 ]] && ((v < 5 * 256 + 15)); then
				expects="type=DMA;promise=${PROMISE[$profile]}"
				[[ $profile == strict ]] && expects+=";inferred=strict" || expects+=";inferred=lazy"
				expects+=";check=domain-type=pass;check=cmdline=pass"
			elif [[ $profile == lazy && $target == amd ]]; then
				# QEMU's AMD-Vi reports NpCache: the kernel forces strict, verify knows why.
				verdict=fail
				expects="type=DMA;promise=DMA-FQ;log=Using strict mode due to virtualization;check=domain-type=fail;check=cmdline=fail"
			elif [[ $target != arm64 && -n ${PROFILE_LOG_X86[$profile]:-} ]]; then
				expects+=";log=${PROFILE_LOG_X86[$profile]}"
			fi
			CASES+=("$suite-$profile-$target|$target|$cmdline|$profile|$verdict|$expects|$suite")
		done
	done
}

usage() {
	echo "Usage: $0 [-j JOBS] [-k DIR] [-l] [NAME...]"
}

describe_target() {
	case $1 in
	intel) echo "Intel VT-d, q35, direct kernel boot" ;;
	intel-cm) echo "Intel VT-d with caching mode (a virtual IOMMU), q35, direct kernel boot" ;;
	amd) echo "AMD-Vi, q35, direct kernel boot" ;;
	arm64) echo "Arm SMMUv3, virt, direct kernel boot" ;;
	*) echo "$1" ;;
	esac
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

# "DMA-FQ (lazy)", "DMA (lazy, inferred)", "no groups": the model's prediction in verify's JSON.
describe_prediction() {
	json "$1" "'n/a' if not d.get('prediction') else 'no groups' if not d['prediction']['groups'] else d['prediction']['domain_type'] + ('' if not d['prediction']['invalidation'] else ' (' + d['prediction']['invalidation'] + ('' if d['prediction']['invalidation_observable'] else ', not observable') + ')')" 2>/dev/null || echo "n/a"
}

# json FILE EXPR: the Python expression EXPR over the JSON document d.
json() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"
}

# check_expectation WORK EXPECTATION: succeed or print what was wrong.
check_expectation() {
	local work=$1 expect=$2 want root=$1/capture/root kmsg=$1/capture/kmsg.txt vj=$1/verify.json got
	case $expect in
	type=*)
		want=${expect#type=}
		if [[ -z $(group_types "$root") ]] || group_types "$root" | grep -qvxF "$want"; then
			echo "sysfs: expected every group $want, saw $(describe_tree "$root")"
			return 1
		fi
		got=$(json "$vj" "[d['observed']['groups']['total'], d['observed']['groups'].get('$want')]")
		if [[ $got != "[$(group_types "$root" | wc -l), $(group_types "$root" | wc -l)]" ]]; then
			echo "verify: observed.groups [total, $want] is $got, sysfs says $(describe_tree "$root")"
			return 1
		fi
		;;
	groups=0)
		if [[ -n $(group_types "$root") || -n $(iommu_units "$root") ]]; then
			echo "sysfs: expected no groups and no IOMMU unit, saw $(describe_tree "$root")"
			return 1
		fi
		got=$(json "$vj" "[d['observed']['groups']['total'], d['observed']['mode']]")
		if [[ $got != '[0, "off"]' ]]; then
			echo "verify: observed [groups.total, mode] is $got, expected [0, \"off\"]"
			return 1
		fi
		;;
	model)
		# The kernel model's prediction (made in the guest, on the kernel's own config) against sysfs.
		local pg pt n
		pg=$(json "$vj" "d['prediction']['groups']") || { echo "verify JSON has no prediction"; return 1; }
		pt=$(json "$vj" "d['prediction']['domain_type']")
		n=$(group_types "$root" | wc -l)
		if [[ $pg == false ]]; then
			[[ $n -eq 0 ]] || { echo "model: predicted no groups, sysfs has $(describe_tree "$root")"; return 1; }
		elif [[ $n -eq 0 ]] || group_types "$root" | grep -qvxF "$pt"; then
			echo "model: predicted $pt groups, sysfs has $(describe_tree "$root")"
			return 1
		fi
		;;
	inferred=*)
		want=${expect#inferred=}
		got=$(json "$vj" "[d['observed']['invalidation']['value'], d['observed']['invalidation']['inferred'], d['observed']['mode']]")
		if [[ $got != "[\"$want\", true, \"translated\"]" ]]; then
			echo "verify: observed [invalidation, inferred, mode] is $got, expected [\"$want\", true, \"translated\"]"
			return 1
		fi
		;;
	nolog=*)
		want=${expect#nolog=}
		if grep -qF -- "$want" "$kmsg"; then
			echo "kernel log has \"$want\", which this release does not print"
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
	lint=*)
		want=${expect#lint=}
		got=$(json "$work/lint.json" "[f['token'] for f in d['findings'] if f['severity'] == 'error']")
		if [[ $(<"$work/lint.rc") != 1 ]] || ! json "$work/lint.json" "'$want' in $got" | grep -qx true; then
			echo "lint: expected an error for $want (exit 1), got exit $(<"$work/lint.rc") and errors for $got"
			return 1
		fi
		;;
	check=*)
		want=${expect#check=}
		got=$(json "$vj" "[c['result'] for c in d['checks'] if c['id'] == '${want%=*}']")
		if [[ $got != "[\"${want##*=}\"]" ]]; then
			echo "verify: check ${want%=*} is $got, expected ${want##*=}"
			return 1
		fi
		;;
	promise=*)
		want=${expect#promise=}
		if [[ $want == none ]]; then
			got=$(json "$vj" "[d['profile']['groups'], d['profile']['domain_type']]")
			[[ $got == '[false, null]' ]] && return 0
		else
			got=$(json "$vj" "[d['profile']['groups'], d['profile']['domain_type']]")
			[[ $got == "[true, \"$want\"]" ]] && return 0
		fi
		echo "verify: the profile's [groups, domain_type] is $got, kernel-truth.sh promises $want"
		return 1
		;;
	*)
		echo "unknown expectation '$expect'"
		return 1
		;;
	esac
}

# check_verdict WORK PROFILE WANT: verify's exit status and JSON verdict.
check_verdict() {
	local work=$1 profile=$2 want=$3 rc verdict others
	rc=$(<"$work/verify.rc")
	if ! verdict=$(json "$work/verify.json" "d['verdict']" 2>/dev/null); then
		echo "verify: exit $rc, no JSON ($(head -c 300 "$work/verify.err" 2>/dev/null))"
		return 1
	fi
	others=$(json "$work/verify.json" "', '.join(c['id'] + '=' + c['result'] for c in d['checks'] if c['result'] != 'pass') or 'all checks pass'")
	if [[ $verdict != "$want" ]]; then
		echo "verify: verdict $verdict, expected $want ($others)"
		return 1
	fi
	case $want:$rc in
	pass:0 | warn:0 | fail:1) ;;
	*)
		echo "verify: verdict $verdict but exit status $rc"
		return 1
		;;
	esac
	if [[ $(json "$work/verify.json" "d['profile']['name']") != "$profile" ]]; then
		echo "verify: judged profile $(json "$work/verify.json" "d['profile']['name']"), expected $profile"
		return 1
	fi
}

# --- running a case -----------------------------------------------------------------

# The guest's verify JSON, exit status and stderr from its console.
collect_verify() {
	local work=$1
	if ! vm_extract "$work/console.log" verify-json "$work/verify.json" ||
		! vm_extract "$work/console.log" verify-rc "$work/verify.rc" ||
		! vm_extract "$work/console.log" verify-err "$work/verify.err"; then
		echo "no iommuctl verify output from the guest"
		return 1
	fi
}

# build_arm64_iommuctl: cross-compile iommuctl for the arm64 guests; prints its path.
build_arm64_iommuctl() {
	local dir=${IOMMUCTL_ARM64_BUILD:-$VM_REPO/build-vm-aarch64}
	if [[ -n ${IOMMUCTL_ARM64_BIN:-} ]]; then
		printf '%s\n' "$IOMMUCTL_ARM64_BIN"
		return
	fi
	if [[ ! -f $dir/build.ninja ]]; then
		meson setup "$dir" "$VM_REPO" --cross-file "$VM_LIB_DIR/aarch64-linux-gnu.ini" -Dtests=disabled >"$WORKDIR/arm64-build.log" 2>&1 ||
			{
				tail -n 20 "$WORKDIR/arm64-build.log" >&2
				vm_err "meson setup of the arm64 cross build failed (needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and the :arm64 -dev packages of .ci/packages.txt)"
				return
			}
	fi
	ninja -C "$dir" src/iommuctl >"$WORKDIR/arm64-build.log" 2>&1 ||
		{
			tail -n 20 "$WORKDIR/arm64-build.log" >&2
			vm_err "cross-compiling iommuctl for arm64 failed"
			return
		}
	printf '%s\n' "$dir/src/iommuctl"
}

# run_case ROW: boot, check, and leave "PASS|FAIL name (Ns): detail" in
# $RESULTS/name. Always succeeds, so one bad boot does not stop the others.
run_case() {
	local name target cmdline profile verdict expects work start why='' expect arch stage=boot suite
	IFS='|' read -r name target cmdline profile verdict expects suite <<<"$1"
	local VM_SUITE
	VM_SUITE=$(suite_var "$suite")
	expects+=";model"
	local -a expectations
	IFS=';' read -ra expectations <<<"$expects"
	arch=$(vm_target_arch "$target")
	work=$WORKDIR/$name
	rm -rf "$work"
	mkdir -p "$work"
	start=$EPOCHREALTIME
	local lint_arch=x86_64
	[[ $arch == amd64 ]] || lint_arch=aarch64
	local rc=0
	"$IOMMUCTL_BIN" --json lint --arch "$lint_arch" --kernel "$(vm_kernel_release "$arch")" --config "$(vm_kernel_config "$arch")" \
		--cmdline "$cmdline" >"$work/lint.json" 2>&1 || rc=$?
	echo "$rc" >"$work/lint.rc"
	if ! vm_initramfs_with_env "$WORKDIR/initrd-$suite-$arch.gz" "$work/initrd.gz" \
		"VM_PROFILE=$profile" "VM_CASE=$name" 2>"$work/boot.err"; then
		why="cannot build the initramfs"
	elif ! vm_capture "$target" "$cmdline" "$work/initrd.gz" "$work" 2>"$work/boot.err"; then
		why="boot failed: $(grep -m1 "^vm: " "$work/boot.err" || tail -n 1 "$work/boot.err")"
	else
		stage=verify
		if why=$(collect_verify "$work"); then
			why=$(check_verdict "$work" "$profile" "$verdict") || true
		fi
		if [[ -z $why ]]; then
			stage=check
			for expect in "${expectations[@]}"; do
				why=$(check_expectation "$work" "$expect" 2>&1) || break
				why=
			done
		fi
	fi
	local secs
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	local side
	side="$(vm_kernel_release "$arch") $target ${name#"$suite"-} | predicted $(describe_prediction "$work/verify.json") | observed $(describe_tree "$work/capture/root" 2>/dev/null)"
	if [[ -z $why ]]; then
		echo "PASS $side | verify $verdict (${secs}s) | ${cmdline:-(empty)}" >"$RESULTS/$name"
	else
		{
			echo "FAIL $side (${secs}s): profile $profile, $(describe_target "$target"), command line '${cmdline}': $why"
			if [[ $stage == boot && -s $work/boot.err ]]; then
				sed 's/^/    /' "$work/boot.err"
			fi
		} >"$RESULTS/$name"
	fi
	rm -f "$work/initrd.gz"
	return 0
}

main() {
	local jobs=2 keep='' list='' opt row arch passed=0 failed=0 start
	while getopts 'j:k:lh' opt; do
		case $opt in
		j) jobs=$OPTARG ;;
		k) keep=$OPTARG ;;
		l) list=1 ;;
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
	[[ -x $IOMMUCTL_BIN ]] || vm_err "IOMMUCTL_BIN=$IOMMUCTL_BIN is not an executable (build first)" || return 2

	start=$EPOCHREALTIME
	if [[ -n $keep ]]; then
		mkdir -p "$keep"
		WORKDIR=$(cd "$keep" && pwd)
	else
		WORKDIR=$(mktemp -d)
		trap 'rm -rf "$WORKDIR"' EXIT
	fi
	CASES=()
	NOTES=()
	local suite
	for suite in ${KERNEL_TRUTH_SUITES:-bookworm bullseye trixie sid}; do
		VM_SUITE=$(suite_var "$suite") vm_fetch_kernel amd64
		if [[ $suite != bullseye || -n ${KERNEL_TRUTH_ARM64_5_10:-} ]]; then
			VM_SUITE=$(suite_var "$suite") vm_fetch_kernel arm64
		fi
		release_cases "$suite"
	done
	if [[ -n $list ]]; then
		printf '%s\n' "${CASES[@]}"
		printf '# %s\n' "${NOTES[@]}"
		return 0
	fi
	vm_select_cases CASES "$@"
	RESULTS=$WORKDIR/.results
	rm -rf "$RESULTS"
	mkdir -p "$RESULTS"

	local -a profile_files=() conf
	for conf in "$PROFILES_DIR"/*.conf; do
		profile_files+=("file:$conf:/usr/lib/iommu/profiles/$(basename "$conf")")
	done
	local -A archs=()
	local target key arm64_bin=''
	for row in "${VM_SELECTED[@]}"; do
		IFS='|' read -r _ target _ _ _ _ suite <<<"$row"
		archs[$suite:$(vm_target_arch "$target")]=1
	done
	for key in "${!archs[@]}"; do
		suite=${key%%:*}
		arch=${key#*:}
		# Flavours (trixie-cloud) are not in KERNEL_TRUTH_SUITES' loop above: fetched when selected.
		VM_SUITE=$(suite_var "$suite") vm_fetch_kernel "$arch"
		local bin=$IOMMUCTL_BIN
		if [[ $arch != amd64 ]]; then
			[[ -n $arm64_bin ]] || arm64_bin=$(build_arm64_iommuctl)
			bin=$arm64_bin
		fi
		# The guest's verify reads the kernel's real build configuration, as on an installed system.
		VM_SUITE=$(suite_var "$suite") vm_build_capture_initramfs "$arch" "$WORKDIR/initrd-$suite-$arch.gz" \
			"bin:$bin:/bin/iommuctl" "${profile_files[@]}" \
			"file:$(VM_SUITE=$(suite_var "$suite") vm_kernel_config "$arch"):/boot/config-$(VM_SUITE=$(suite_var "$suite") vm_kernel_release "$arch")"
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
	[[ $# -gt 0 ]] || printf 'NOTE %s\n' "${NOTES[@]}"
	echo "# wall time $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s for ${#VM_SELECTED[@]} boots, $jobs at a time, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 ]]
}

main "$@"
