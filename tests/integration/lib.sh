# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the integration tests. meson passes IOMMUCTL (the built binary) and SRCDIR.
set -euo pipefail
: "${IOMMUCTL:?}" "${SRCDIR:?}"
export IOMMUCTL_PROFILES_PATH=$SRCDIR/profiles
HOSTS=$SRCDIR/tests/fixtures/hosts
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
ok() {
        echo "ok: $*"
}
finish() {
        [ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
}
