#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Long fuzzing runs: builds the tests/fuzz harnesses with clang, libFuzzer and ASan/UBSan in
# build-fuzz/ (once) and runs each for SECONDS (default 300) over a working copy of its corpus,
# printing the executions and what it found. Usage: bench/fuzz.sh [SECONDS] [HARNESS...]
# New inputs are kept in build-fuzz/corpus/NAME; a crash leaves crash-* in build-fuzz/findings/NAME.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-300}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(cmdline profile bls grub acpi files)
out=$src/build-fuzz
command -v clang > /dev/null || { echo "clang is missing (apt-get install clang)" >&2; exit 1; }
if [ ! -f "$out/build.ninja" ]; then
        CC=clang meson setup "$out" "$src" -Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false > /dev/null
fi
ninja -C "$out" $(printf 'tests/fuzz/fuzz-%s ' "${names[@]}") > /dev/null
export IOMMUCTL_PROFILES_PATH=$src/profiles
printf '%-8s %10s %8s %s\n' harness executions seconds findings
for n in "${names[@]}"; do
        mkdir -p "$out/corpus/$n" "$out/findings/$n"
        cp -n "$src/tests/fuzz/corpus/$n/"* "$out/corpus/$n/" 2> /dev/null || true
        log=$out/findings/$n/log
        rc=0
        nice "$out/tests/fuzz/fuzz-$n" -max_total_time="$secs" -print_final_stats=1 \
                -artifact_prefix="$out/findings/$n/" "$out/corpus/$n" > "$log" 2>&1 || rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        found=$(ls "$out/findings/$n" | grep -cE '^(crash|leak|timeout|oom)-' || true)
        printf '%-8s %10s %8s %s\n' "$n" "${execs:-?}" "$secs" "$([ "$rc" = 0 ] && echo "none ($found artifacts)" || echo "exit $rc, $found artifacts: see $log")"
done
