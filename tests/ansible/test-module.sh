#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The module iommu.iommuctl.iommuctl against temporary --root trees on this machine (connection
# local, no VM): check mode writes nothing and --diff shows the change, changed only when a boot
# file changed, reboot_required from plan --check, verify's verdict and failed checks, rollback,
# iommuctl's message on failure; ansible-doc renders the module.
#
#   tests/ansible/test-module.sh IOMMUCTL SRCDIR
set -euo pipefail
iommuctl=${1:?usage: $0 IOMMUCTL SRCDIR} src=${2:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
        echo "FAIL: $*" >&2
        exit 1
}
export ANSIBLE_HOME=$tmp/ansible-home ANSIBLE_LOCAL_TEMP=$tmp/ansible-home/tmp ANSIBLE_NOCOLOR=1
export ANSIBLE_COLLECTIONS_PATH=$src/ansible ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
here=$(cd "$(dirname "$0")" && pwd)
export ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_CALLBACK_PLUGINS=$here/callback_plugins ANSIBLE_CALLBACKS_ENABLED=iommu_test_results
export IOMMUCTL_PROFILES_PATH=$src/profiles
host=$src/tests/fixtures/hosts/qemu-intel-efi-passthrough
root=$tmp/root
cp -a "$src/tests/fixtures/boot/systemd-boot-esp/input" "$root"
cp -a "$host/root/." "$root/"
# The running kernel without the profile's tokens.
sed -i 's/ intel_iommu=on iommu=pt//' "$root/proc/cmdline"

# mod NAME ARGS [ansible options]: one task, its result in $tmp/NAME.json, exit status in $rc.
mod() {
        local name=$1 args=$2
        shift 2
        rc=0
        IOMMU_TEST_RESULTS=$tmp/$name.json ansible localhost -m iommu.iommuctl.iommuctl \
                -a "executable=$iommuctl root=$root $args" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
}
# get NAME EXPR: a Python expression over the task result r.
get() {
        python3 -c 'import json, sys
run = json.load(open(sys.argv[1]))
r = run["plays"][0]["tasks"][0]["hosts"]["localhost"]
print(eval(sys.argv[2]))' "$tmp/$1.json" "$2"
}
snapshot() {
        (cd "$root" && find efi etc -type f -print0 | sort -z | xargs -0 sha256sum) >"$tmp/$1.sums"
        [ ! -d "$root/var/lib/iommu" ] || find "$root/var/lib/iommu" >>"$tmp/$1.sums"
}

ansible-doc -t module iommu.iommuctl.iommuctl >"$tmp/doc.txt" 2>&1 || fail "ansible-doc: $(cat "$tmp/doc.txt")"
for w in "state" "applied" "rolled_back" "absent" "reboot_required" "failed_checks" "EXAMPLES" "RETURN VALUES"; do
        grep -q -- "$w" "$tmp/doc.txt" || fail "ansible-doc does not show '$w'"
done
echo "ok: ansible-doc renders the module"

args="profile=gpu-sriov vendor=intel"
snapshot before
mod check "$args" --check --diff
[ $rc = 0 ] || fail "check mode: exit $rc: $(cat "$tmp/check.out" "$tmp/check.err")"
[ "$(get check 'r["changed"], r["reboot_required"], r["changeset"]')" = "(True, True, None)" ] || fail "check mode: $(get check r)"
grep -q '^+options    intel_iommu=on iommu=pt$' <<<"$(get check 'r["diff"]["prepared"]')" || fail "check mode: no diff: $(get check 'r.get("diff")')"
snapshot after-check
cmp -s "$tmp/before.sums" "$tmp/after-check.sums" || fail "check mode changed files under the root"
echo "ok: check mode writes nothing, reports the change and shows the diff"

mod apply "$args"
[ $rc = 0 ] || fail "apply: exit $rc"
[ "$(get apply 'r["changed"], r["reboot_required"], r["changeset"], len(r["files"])')" = "(True, True, 1, 5)" ] ||
        fail "apply: $(get apply r)"
grep -q "intel_iommu=on iommu=pt" "$root/etc/kernel/cmdline" || fail "apply did not write"
grep -qx "Profile=gpu-sriov" "$root/etc/iommu/selection" || fail "apply did not record the selection"
mod again "$args"
[ "$(get again 'r["changed"], r["reboot_required"], r["files"]')" = "(False, True, [])" ] || fail "second apply: $(get again r)"
echo "ok: changed only when a boot file changed; reboot_required until the kernel runs the profile"

mod verify-drift "state=verified profile=gpu-sriov kernel_log=$host/kmsg.txt"
[ $rc = 2 ] || fail "verify of a drifted node: exit $rc"
[ "$(get verify-drift 'r["failed"], r["verdict"], [c["id"] for c in r["failed_checks"]]')" = "(True, 'fail', ['cmdline'])" ] ||
        fail "verify drift: $(get verify-drift r)"
grep -q "^IOMMU verification failed for profile gpu-sriov: cmdline: .*intel_iommu=on iommu=pt" <<<"$(get verify-drift 'r["msg"]')" ||
        fail "verify drift msg: $(get verify-drift 'r["msg"]')"
# Each fix once in the failed task's result (Ansible prints all of it), not in msg, failed_checks
# and the whole verify object alike.
fix=$(get verify-drift 'r["failed_checks"][0]["fix"]')
[ -n "$fix" ] || fail "verify drift: no fix in failed_checks: $(get verify-drift r)"
[ "$(get verify-drift 'json.dumps(r).count(json.dumps(r["failed_checks"][0]["fix"]).strip(chr(34)))')" = 1 ] ||
        fail "verify drift: the fix is repeated: $(get verify-drift r)"
cp "$host/root/proc/cmdline" "$root/proc/cmdline"
mod verify "state=verified profile=gpu-sriov kernel_log=$host/kmsg.txt"
[ $rc = 0 ] || fail "verify: exit $rc: $(get verify 'r.get("msg")')"
[ "$(get verify 'r["changed"], r["verdict"], r["failed_checks"], r["observed_mode"]')" = "(False, 'pass', [], 'passthrough')" ] ||
        fail "verify: $(get verify r)"
mod applied-booted "$args"
[ "$(get applied-booted 'r["changed"], r["reboot_required"]')" = "(False, False)" ] || fail "after the reboot: $(get applied-booted r)"
# Issue 22.3: facts about the node with every state.
[ "$(get applied-booted 'r["node"]["profile"], r["node"]["next_boot_carries_profile"], r["node"]["generator_armed"]')" = "('gpu-sriov', True, True)" ] ||
        fail "node facts after apply: $(get applied-booted 'r["node"]')"
echo "ok: verified returns the verdict and the failed checks, and fails on a failed check"

mod rb-check "state=rolled_back" --check
[ "$(get rb-check 'r["changed"]')" = True ] || fail "rollback check mode: $(get rb-check r)"
grep -q "intel_iommu=on iommu=pt" "$root/etc/kernel/cmdline" || fail "rollback in check mode wrote"
mod rb "state=rolled_back"
[ "$(get rb 'r["changed"], r["changeset"], r["reboot_required"]')" = "(True, 1, True)" ] || fail "rollback: $(get rb r)"
grep -q "amd_iommu=off" "$root/etc/kernel/cmdline" || fail "rollback did not restore /etc/kernel/cmdline"
mod rb2 "state=rolled_back"
[ "$(get rb2 'r["changed"]')" = False ] || fail "rollback with nothing left: $(get rb2 r)"
echo "ok: rolled_back restores the last change set, then reports no change"

# state=absent: iommuctl undo, converging.
mod apply3 "$args"
[ "$(get apply3 'r["changed"]')" = True ] || fail "apply before absent: $(get apply3 r)"
mod absent-check "state=absent" --check
[ "$(get absent-check 'r["changed"]')" = True ] || fail "absent in check mode: $(get absent-check r)"
grep -q "intel_iommu=on iommu=pt" "$root/etc/kernel/cmdline" || fail "absent in check mode wrote"
mod absent "state=absent"
[ $rc = 0 ] || fail "absent: exit $rc: $(cat "$tmp/absent.out")"
[ "$(get absent 'r["changed"], r["reboot_required"], r["profile"]')" = "(True, True, 'gpu-sriov')" ] || fail "absent: $(get absent r)"
! grep -q "intel_iommu=on\|iommu=pt" "$root/etc/kernel/cmdline" "$root"/efi/loader/entries/*.conf || fail "absent left tokens behind"
[ "$(get absent 'r["node"]["next_boot_carries_profile"], r["node"]["generator_armed"]')" = "(False, False)" ] ||
        fail "node facts after absent: $(get absent 'r["node"]')"
mod absent2 "state=absent"
[ "$(get absent2 'r["changed"], r["files"]')" = "(False, [])" ] || fail "second absent changed something: $(get absent2 r)"
echo "ok: absent removes the profile's tokens everywhere and converges"

mod bad "profile=no-such-profile"
[ $rc = 2 ] || fail "unknown profile: exit $rc"
[ "$(get bad 'r["rc"]')" = 2 ] && grep -q "^No profile 'no-such-profile' found" <<<"$(get bad 'r["msg"]')" ||
        fail "unknown profile: $(get bad r)"
echo "ok: failures carry iommuctl's message and exit status"

# Configuration management already selects the profile (a drop-in): apply records no selection,
# which would win over the next drop-in (iommu.conf(5), SELECTION).
rm -f "$root/etc/iommu/selection"
mkdir -p "$root/etc/iommu/iommu.conf.d"
printf '[IOMMU]\nProfile=gpu-sriov\n' >"$root/etc/iommu/iommu.conf.d/50-fleet.conf"
mod conf-apply "profile=gpu-sriov"
[ $rc = 0 ] || fail "apply of the configured profile: exit $rc: $(get conf-apply r)"
[ "$(get conf-apply 'r["changed"], r["profile"]')" = "(True, 'gpu-sriov')" ] || fail "apply of the configured profile: $(get conf-apply r)"
[ ! -e "$root/etc/iommu/selection" ] || fail "apply recorded a selection the configuration already makes: $(cat "$root/etc/iommu/selection")"
grep -q "intel_iommu=on iommu=pt" "$root/etc/kernel/cmdline" || fail "apply of the configured profile did not write"
mod conf-other "profile=strict"
[ $rc = 0 ] || fail "apply of another profile: exit $rc: $(get conf-other r)"
grep -qx "Profile=strict" "$root/etc/iommu/selection" || fail "a profile other than the configuration's is not recorded"
echo "ok: the module records no selection that the configuration already makes"
