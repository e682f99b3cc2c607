# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The valgrind the bench/ scripts count instructions with: sets $VALGRIND and prints which one it is.
# Sourced; needs $src (the source tree) and $tmp (a temporary directory).
#
# Debian 12's valgrind (3.19) fails openat2() with ENOSYS, so under it every file iommuctl opens
# goes through the component walk that stands in for openat2() on kernels before 5.6 (or under a
# seccomp filter that refuses it): a cost no supported host pays, since Debian 11's 5.10 already
# has openat2(). Debian 13's valgrind (3.24) passes openat2() to the kernel. Unless VALGRIND names
# a valgrind, the scripts use Debian 13's, fetched once through a private apt configuration into
# the VM cache (tests/vm/lib.sh, as the VM tests fetch their kernels; the machine's apt sources are
# untouched), and this machine's where the fetch fails (offline) or with BENCH_VALGRIND=system.
# The first line the scripts print says which one ran, and whether openat2() reached the kernel.

# shellcheck disable=SC2154 # src and tmp: set by the sourcing script
bench_fetch_valgrind() {
        (
                set -e
                # shellcheck source=../tests/vm/lib.sh
                . "$src/tests/vm/lib.sh"
                # shellcheck disable=SC2034 # read by tests/vm/lib.sh's functions
                VM_SUITE=trixie
                _vm_apt_suite_setup
                _vm_fetch_deb valgrind "$(dpkg --print-architecture)" "$VM_CACHE/suites/trixie/$(dpkg --print-architecture)/valgrind"
                printf '%s\n' "$VM_CACHE/suites/trixie/$(dpkg --print-architecture)/valgrind"
        ) 2> "$tmp/fetch-valgrind.log" || return 1
}

if [[ -z ${VALGRIND:-} && ${BENCH_VALGRIND:-} != system ]] && vg_dir=$(bench_fetch_valgrind) &&
        [[ -x $vg_dir/usr/bin/valgrind.bin ]]; then
        # The package's own wrapper would look for its tools under /usr/libexec: point it at them.
        printf '#!/bin/sh\nVALGRIND_LIB=%s/usr/libexec/valgrind exec %s/usr/bin/valgrind.bin "$@"\n' "$vg_dir" "$vg_dir" \
                > "$tmp/valgrind"
        chmod +x "$tmp/valgrind"
        VALGRIND=$tmp/valgrind
fi
VALGRIND=${VALGRIND:-valgrind}
command -v "$VALGRIND" > /dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 2; }

# Does openat2() reach the kernel under $VALGRIND? A program that makes one call tells.
printf '%s\n' '#include <fcntl.h>' '#include <linux/openat2.h>' '#include <sys/syscall.h>' '#include <unistd.h>' \
        'int main(void) { struct open_how how = { .flags = O_RDONLY | O_DIRECTORY };' \
        '        return syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how)) < 0; }' > "$tmp/openat2-probe.c"
${CC:-cc} -O2 -o "$tmp/openat2-probe" "$tmp/openat2-probe.c" || exit 2
valgrind_note="valgrind: $("$VALGRIND" --version) ($VALGRIND)"
if "$VALGRIND" --tool=none -q "$tmp/openat2-probe" 2> /dev/null; then
        valgrind_note+=", openat2() reaches the kernel"
else
        valgrind_note+=", openat2() fails under it: iommuctl's counts include the fallback path walk"
        valgrind_note+=" that kernels >= 5.6 never run"
fi
printf '%s\n\n' "$valgrind_note"
