#!/bin/bash
# The README's second command, and what CI runs (.ci/run): installs what the build and the tests
# need, builds, and runs the whole test suite (unit, integration, fuzz, packaging, real-kernel
# VM boots), then every suite that runs our binaries directly again under ASan and UBSan (not
# packaging, vm, dracut and bench: they rebuild, boot guests or count instructions).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
        .ci/install-deps
else
        echo "run-all: not root, assuming the packages in .ci/packages.txt are installed" >&2
fi

build=${IOMMU_BUILD_DIR:-build-ci}
if [ -d "$build" ]; then meson setup --reconfigure "$build" >/dev/null; else meson setup "$build" >/dev/null; fi
ninja -C "$build"

status=0
meson test -C "$build" --print-errorlogs --num-processes 2 --no-suite ansible-vm || status=1

asan=$build-asan
if [ -d "$asan" ]; then
        meson setup --reconfigure "$asan" >/dev/null
else
        meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C "$asan" --print-errorlogs --num-processes 2 \
        --suite unit --suite fuzz --suite integration --suite verify --suite apply --suite generator \
        --suite kernel-install || status=1

# One closing line over both runs, counted from meson's own logs.
python3 - "$build" "$asan" <<'PY'
import json, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    with open(f"{d}/meson-logs/testlog.json") as f:
        for line in f:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
