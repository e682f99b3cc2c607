#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fuzzing runs: builds the tests/fuzz harnesses with clang, libFuzzer and ASan/UBSan in BUILD
# (default build-fuzz/, set up once; the library is instrumented, not only the harness) and runs
# each for SECONDS (default 60) over a working copy of its corpus, printing per harness the
# executions, the coverage libFuzzer reached (cov: edges, ft: features, its final stats), the corpus
# size and what it found.
# Usage: bench/fuzz.sh [SECONDS] [HARNESS...]   (no HARNESS: every fuzz-* the build has)
# Environment: FUZZ_BUILD=DIR, FUZZ_ARGS="..." (more libFuzzer options), FUZZ_OPT=N (-O level, 1).
# New inputs are kept in BUILD/corpus/NAME; a crash leaves crash-* (leak-*, timeout-*, oom-*) in
# BUILD/findings/NAME and its report in BUILD/findings/NAME/log. Exit status 1 when something was found.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
names=("$@")
out=${FUZZ_BUILD:-$src/build-fuzz}
command -v clang > /dev/null || { echo "clang is missing (apt-get install clang)" >&2; exit 2; }
command -v clang++ > /dev/null || { echo "clang++ is missing (apt-get install clang)" >&2; exit 2; }
if [ ! -f "$out/build.ninja" ]; then
        mkdir -p "$out"
        CC=clang CXX=clang++ meson setup "$out" "$src" -Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false \
                -Doptimization="${FUZZ_OPT:-1}" > "$out/fuzz-setup.log" 2>&1 \
                || { cat "$out/fuzz-setup.log" >&2; exit 2; }
fi
nice ninja -C "$out" > "$out/fuzz-build.log" 2>&1 || { tail -40 "$out/fuzz-build.log" >&2; exit 2; }
if [ ${#names[@]} -eq 0 ]; then
        for f in "$out"/tests/fuzz/fuzz-*; do
                [ -f "$f" ] && [ -x "$f" ] && names+=("${f##*/fuzz-}")
        done
fi
export IOMMUCTL_PROFILES_PATH=$src/profiles
[ -f "$out/src/libiommu-toml.so" ] && export IOMMUCTL_TOML_MODULE=$out/src/libiommu-toml.so
# Every report names its sanitizer; leaks of a run are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

found_any=0
printf '%-16s %11s %8s %7s %7s %7s %s\n' harness executions seconds cov ft corpus findings
for n in "${names[@]}"; do
        exe=$out/tests/fuzz/fuzz-$n
        [ -x "$exe" ] || { printf '%-16s no such harness in %s\n' "$n" "$out/tests/fuzz" ; found_any=1; continue; }
        mkdir -p "$out/corpus/$n" "$out/findings/$n"
        cp -n "$src/tests/fuzz/corpus/$n/"* "$out/corpus/$n/" 2> /dev/null || true
        if [ "$n" = foreign-kargs ]; then
                # Its seeds are the lint fixtures of other tools' kargs files.
                cp -n "$src"/tests/fixtures/lint/*.{yaml,toml,bu,ign} "$out/corpus/$n/" 2> /dev/null || true
        fi
        log=$out/findings/$n/log
        rc=0
        # shellcheck disable=SC2086
        nice "$exe" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/findings/$n/" \
                ${FUZZ_ARGS:-} "$out/corpus/$n" > "$log" 2>&1 || rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        # The last status line libFuzzer printed (DONE, or the last pulse before a crash).
        status=$(grep -E '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE|RELOAD)' "$log" | tail -1 || true)
        cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$status")
        ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$status")
        corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<< "$status")
        if [ "$rc" = 0 ]; then
                what="none"
        else
                found_any=1
                artifact=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
                kind=$(grep -m1 -oE '(ERROR|SUMMARY): [A-Za-z]+Sanitizer: [^ ]+( [^ ]+)?|ERROR: libFuzzer: [a-z -]+' "$log" || true)
                what="exit $rc: ${kind:-see log} ${artifact:+($artifact)}; report: $log"
        fi
        printf '%-16s %11s %8s %7s %7s %7s %s\n' "$n" "${execs:-?}" "$secs" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$what"
done
exit $found_any
