#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iommu-generator against the fixture roots in tests/fixtures/generator: exactly the expected
# symlinks and files appear, the exit status is always 0, and problems are logged.
# Usage: test-generator.sh GENERATOR SRCDIR UNITDIR

set -uo pipefail

generator=${1:?}
src=${2:?}
unitdir=${3:?}
fixtures=$src/tests/fixtures/generator
export IOMMUCTL_PROFILES_PATH=$src/profiles
unset SYSTEMD_IN_INITRD SYSTEMD_LOG_LEVEL

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
pass() { echo "PASS: $*"; passed=$((passed + 1)); }

# run CASE [ENV=VALUE...]: runs the generator on the case's root; sets $out, $rc, $log.
run() {
    local c=$1
    shift
    out=$tmp/$c.$RANDOM
    mkdir -p "$out"/{normal,early,late}
    env IOMMU_GENERATOR_ROOT="$fixtures/$c/root" "$@" "$generator" "$out/normal" "$out/early" "$out/late" \
        2> "$tmp/log" < /dev/null
    rc=$?
    log=$(cat "$tmp/log")
}

# What appeared under the output directories, in the expected file's syntax.
listing() {
    (cd "$out" && find . -mindepth 2 \( -type l -printf '%P -> %l\n' \) -o \( -type f -printf '%P\n' \) | sort)
}

expect_output() {
    local c=$1 what=$2 got want
    got=$(listing)
    want=$(sed "s|@UNITDIR@|$unitdir|g" "$3" | sort)
    if [[ $rc != 0 ]]; then
        fail "$c $what: exit status $rc, expected 0; log: $log"
    elif [[ $got != "$want" ]]; then
        fail "$c $what: output differs"
        diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
    else
        pass "$c $what"
    fi
}

for dir in "$fixtures"/*/; do
    c=$(basename "$dir")
    run "$c"
    expect_output "$c" "creates exactly what $c/expected lists" "$dir/expected"
done

# The apply unit is a symlink to the installed unit, in the normal directory only.
run drifted
link=$out/normal/multi-user.target.wants/iommu-apply.service
if [[ -L $link && $(readlink "$link") == "$unitdir/iommu-apply.service" && -z $(find "$out/early" "$out/late" -mindepth 1) ]]; then
    pass "drifted: wants symlink points at $unitdir/iommu-apply.service, early and late empty"
else
    fail "drifted: wrong link or early/late not empty"
fi
[[ $log == *"<5>"*"lacks the IOMMU tokens of profile gpu-sriov (intel_iommu=on iommu=pt)"* ]] \
    && pass "drifted: logs the drift at notice level with the wanted tokens" \
    || fail "drifted: log was: $log"

# A daemon-reload (services of the booted system running: PID 1's invocation:UNIT symlinks under
# /run/systemd/units, as for iommu-verify.service or systemd-logind.service) adds the same symlink,
# but says the unit runs at the next boot.
[[ $log != *"daemon-reload"* ]] && pass "drifted at boot: no daemon-reload message" || fail "drifted at boot: $log"
reload=$tmp/reload-root
cp -a "$fixtures/drifted/root" "$reload"
mkdir -p "$reload/run/systemd/units"
ln -s 0123456789abcdef0123456789abcdef "$reload/run/systemd/units/invocation:systemd-logind.service"
out=$tmp/reload.out
mkdir -p "$out"/{normal,early,late}
IOMMU_GENERATOR_ROOT=$reload "$generator" "$out/normal" "$out/early" "$out/late" 2> "$tmp/log" < /dev/null
rc=$? log=$(cat "$tmp/log")
[[ $rc == 0 && -L $out/normal/multi-user.target.wants/iommu-apply.service ]] \
    && pass "daemon-reload: the wants symlink is still written" || fail "daemon-reload: rc=$rc, no symlink"
[[ $log == *"this is a daemon-reload, which starts nothing: iommu-apply.service runs at the next boot"* && $log != *"on this boot"* ]] \
    && pass "daemon-reload: does not claim to start iommu-apply.service on this boot" \
    || fail "daemon-reload: log was: $log"
# What the initrd hands over (journald keeps running across the switch to the root) is no sign of one.
rm "$reload/run/systemd/units/invocation:systemd-logind.service"
ln -s fedcba9876543210fedcba9876543210 "$reload/run/systemd/units/invocation:systemd-journald.service"
IOMMU_GENERATOR_ROOT=$reload "$generator" "$out/normal" "$out/early" "$out/late" 2> "$tmp/log" < /dev/null
log=$(cat "$tmp/log")
[[ $log == *"starting iommu-apply.service on this boot"* ]] \
    && pass "boot after an initrd: starts iommu-apply.service on this boot" || fail "boot after an initrd: log was: $log"

# Broken configuration: exit 0, file:line in the log, a warning, nothing written.
run broken-config
[[ $rc == 0 && $log == *"broken-config/root/etc/iommu/iommu.conf:3: unknown key 'Vendr' in [IOMMU]"* && $log == *"<4>"*"not started on this boot"* ]] \
    && pass "broken-config: exit 0, logs file:line and a warning" \
    || fail "broken-config: rc=$rc log: $log"

run missing-profile
[[ $rc == 0 && $log == *"No profile 'nosuch' found"* && -z $(listing) ]] \
    && pass "missing-profile: exit 0, says which profile is missing" \
    || fail "missing-profile: rc=$rc log: $log"

# A host that does not use iommuctl: silent.
for c in no-config no-profile in-sync generator-off switched-off; do
    run "$c"
    [[ -z $log ]] && pass "$c: logs nothing at the default level" || fail "$c: logged: $log"
done

# The switch and the initrd: nothing, even on a drifted root.
run drifted SYSTEMD_IN_INITRD=1
[[ $rc == 0 && -z $(listing) ]] && pass "drifted in the initrd: nothing written" || fail "initrd: rc=$rc $(listing)"
run switched-off SYSTEMD_LOG_LEVEL=debug
[[ -z $(listing) && $log == *"iommuctl.apply=0 on the kernel command line"* ]] \
    && pass "iommuctl.apply=0: nothing written, says why at debug level" || fail "switch: $log"

# SYSTEMD_LOG_LEVEL as systemd reads it: numbers too.
run switched-off SYSTEMD_LOG_LEVEL=7
[[ $log == *"iommuctl.apply=0 on the kernel command line"* ]] && pass "SYSTEMD_LOG_LEVEL=7 is debug" || fail "level 7: $log"
run drifted SYSTEMD_LOG_LEVEL=3
[[ $rc == 0 && -z $log && -n $(listing) ]] && pass "SYSTEMD_LOG_LEVEL=3 keeps the drift notice out, still acts" \
    || fail "level 3: rc=$rc log=$log $(listing)"
run drifted SYSTEMD_LOG_LEVEL=notice
[[ $log == *"lacks the IOMMU tokens"* ]] && pass "SYSTEMD_LOG_LEVEL=notice logs the drift" || fail "notice: $log"

# systemd.generator(7): three directories or none.
"$generator" "$tmp/a" "$tmp/b" 2> /dev/null
[[ $? != 0 ]] && pass "two arguments are refused" || fail "two arguments accepted"

echo "$passed passed, $failed failed"
((failed == 0))
