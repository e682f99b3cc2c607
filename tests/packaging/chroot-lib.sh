# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian chroots for the packaging suite (sourced by test-deb-chroot.sh).
#
# A chroot per suite, made with debootstrap from Debian's archive and cached the way the vm
# suite caches its kernels: ${IOMMU_VM_CACHE:-<repo>/.vmcache}/chroots/SUITE/{root,stamp}.
# The stamp names the suite, the mirror and the package set; a missing or different stamp
# rebuilds the chroot. The package build's Build-Depends are topped up inside the cached
# chroot when debian/control asks for something it lacks.
#
# Nothing here touches the machine's own apt configuration: debootstrap fetches with the
# Debian archive keyring, and apt runs inside the chroot with the chroot's own sources.
# Every command runs in a private mount namespace (unshare -m) that holds the overlay and
# /proc; the mounts end with the namespace, whatever way the command ends.
#
#   chroot_ensure SUITE         build or top up the cached chroot (needs network when it does)
#   chroot_session SUITE DIR    a throw-away writable view of it under DIR (overlay, else a copy)
#   chroot_run CMD...           run CMD as root in the session's chroot (cwd /)

CHROOT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHROOT_CACHE=${IOMMU_VM_CACHE:-$CHROOT_REPO/.vmcache}/chroots
CHROOT_MIRROR=${IOMMU_VM_MIRROR:-http://deb.debian.org/debian}
CHROOT_SECURITY_MIRROR=${IOMMU_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CHROOT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# What every chroot has besides the package's Build-Depends: the tools to build a .deb and
# to check it with the release's own lintian. Changing this list rebuilds the chroots.
CHROOT_PACKAGES="build-essential fakeroot lintian"
CHROOT_FORMAT=1

chroot_log() {
        echo "chroot: $*" >&2
}

# chroot_exec ROOT CMD...: CMD in ROOT with /proc mounted, in a private mount namespace.
chroot_exec() {
        local root=$1
        shift
        unshare --mount --propagation private -- /bin/sh -ec '
                root=$1; shift
                mount -t proc proc "$root/proc"
                exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
                        DEBIAN_FRONTEND=noninteractive "$@"' chroot_exec "$root" "$@"
}

_chroot_key() {
        printf 'format %s\nsuite %s\nmirror %s\nsecurity %s\npackages %s\n' \
                "$CHROOT_FORMAT" "$1" "$CHROOT_MIRROR" "$CHROOT_SECURITY_MIRROR" "$CHROOT_PACKAGES"
}

# The chroot's apt sources: the suite, its updates and its security updates, signed by the
# archive keyring (debootstrap checked the suite's Release file against it).
_chroot_sources() {
        local suite=$1
        cat <<EOF
Types: deb
URIs: $CHROOT_MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $CHROOT_SECURITY_MIRROR
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

_chroot_build() {
        local suite=$1 dir=$2 tmp
        tmp=$(mktemp -d "$CHROOT_CACHE/.build-$suite.XXXXXX") || return
        chroot_log "debootstrap $suite from $CHROOT_MIRROR into $dir (cached; first run only)"
        # debootstrap mounts /proc and /sys in the target while it installs: its own namespace.
        if ! unshare --mount --propagation private -- \
                debootstrap --variant=minbase --keyring="$CHROOT_KEYRING" --include=debian-archive-keyring \
                "$suite" "$tmp/root" "$CHROOT_MIRROR" >"$tmp/debootstrap.log" 2>&1; then
                tail -n 30 "$tmp/debootstrap.log" >&2
                rm -rf "$tmp"
                chroot_log "debootstrap $suite failed"
                return 1
        fi
        rm -f "$tmp/root/etc/apt/sources.list"
        _chroot_sources "$suite" >"$tmp/root/etc/apt/sources.list.d/debian.sources"
        cp /etc/resolv.conf "$tmp/root/etc/resolv.conf" 2>/dev/null || true
        # No daemons start in the chroot.
        printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d"
        chmod 755 "$tmp/root/usr/sbin/policy-rc.d"
        # shellcheck disable=SC2086 # a word list
        if ! chroot_exec "$tmp/root" apt-get -q update >>"$tmp/debootstrap.log" 2>&1 ||
           ! chroot_exec "$tmp/root" apt-get -q -y --no-install-recommends install $CHROOT_PACKAGES >>"$tmp/debootstrap.log" 2>&1; then
                tail -n 30 "$tmp/debootstrap.log" >&2
                rm -rf "$tmp"
                chroot_log "installing $CHROOT_PACKAGES into the $suite chroot failed"
                return 1
        fi
        chroot_exec "$tmp/root" apt-get clean
        rm -rf "$dir"
        mv "$tmp/root" "$dir"
        mv "$tmp/debootstrap.log" "$CHROOT_CACHE/$suite/debootstrap.log"
        rm -rf "$tmp"
}

# _chroot_installed ROOT PACKAGE...: each PACKAGE is installed in ROOT. (dpkg-query -W alone
# also succeeds for a package dpkg only knows of: "unknown ok not-installed".)
_chroot_installed() {
        local root=$1 states
        shift
        states=$(chroot_exec "$root" dpkg-query -W -f '${db:Status-Status}\n' "$@" 2>/dev/null) || return 1
        [[ $(grep -cx installed <<<"$states") -eq $# ]]
}

# chroot_ensure SUITE [PROFILES [PACKAGE...]]: the cached chroot exists, its stamp matches,
# and it has the Build-Depends of packaging/debian/control for the build profiles PROFILES
# (e.g. nocheck: without the <!nocheck> ones; empty: all of them) and the PACKAGEs.
chroot_ensure() {
        local suite=$1 profiles=${2:-} dir=$CHROOT_CACHE/$1 rc=0
        shift 2 2>/dev/null || shift $#
        local extra="$*"
        mkdir -p "$dir" || return
        (
                flock -x 9
                if ! cmp -s "$dir/stamp" <(_chroot_key "$suite") || [[ ! -x $dir/root/usr/bin/apt-get ]]; then
                        rm -f "$dir/stamp"
                        _chroot_build "$suite" "$dir/root" || exit 1
                        _chroot_key "$suite" >"$dir/stamp"
                fi
                # apt may need the network below: this machine's resolver, not the one of the
                # machine that made the cache.
                cp /etc/resolv.conf "$dir/root/etc/resolv.conf" 2>/dev/null || true
                # The Build-Depends of this tree: dpkg-checkbuilddeps reads them offline; only
                # when something is missing does apt go to the network.
                rm -rf "$dir/root/tmp/iommuctl-control" && mkdir -p "$dir/root/tmp/iommuctl-control/debian"
                cp "$CHROOT_REPO/packaging/debian/control" "$dir/root/tmp/iommuctl-control/debian/"
                if ! chroot_exec "$dir/root" sh -c "cd /tmp/iommuctl-control && dpkg-checkbuilddeps ${profiles:+-P$profiles}" >/dev/null 2>&1; then
                        chroot_log "installing the Build-Depends of packaging/debian/control into the $suite chroot"
                        if ! chroot_exec "$dir/root" sh -c "apt-get -q update && apt-get -q -y --no-install-recommends ${profiles:+-P $profiles} build-dep /tmp/iommuctl-control && apt-get clean" \
                                >"$dir/build-dep.log" 2>&1; then
                                tail -n 30 "$dir/build-dep.log" >&2
                                chroot_log "apt-get build-dep in the $suite chroot failed (log: $dir/build-dep.log)"
                                exit 1
                        fi
                fi
                rm -rf "$dir/root/tmp/iommuctl-control"
                # shellcheck disable=SC2086 # a word list
                if [[ -n $extra ]] && ! _chroot_installed "$dir/root" $extra; then
                        chroot_log "installing $extra into the $suite chroot"
                        # shellcheck disable=SC2086 # a word list
                        if ! chroot_exec "$dir/root" sh -c "apt-get -q update && apt-get -q -y --no-install-recommends install $extra && apt-get clean" \
                                >"$dir/extra.log" 2>&1; then
                                tail -n 30 "$dir/extra.log" >&2
                                chroot_log "apt-get install $extra in the $suite chroot failed (log: $dir/extra.log)"
                                exit 1
                        fi
                fi
        ) 9>"$dir/lock" || rc=$?
        return $rc
}

# chroot_session SUITE DIR: the session's root is an overlay of the cached chroot (which
# stays as it is) with its writable layer in DIR; where overlayfs cannot be mounted, a copy.
# Call chroot_ensure for every suite first: a session holds the suite's lock shared.
CHROOT_SESSION_ROOT=
CHROOT_SESSION_OVERLAY=
chroot_session() {
        local suite=$1 dir=$2 lower=$CHROOT_CACHE/$1/root
        [[ -d $lower ]] || { chroot_log "no $suite chroot (chroot_ensure first)"; return 1; }
        # Shared while this process lives: chroot_ensure (exclusive) waits instead of changing
        # the lower layer under a running session, e.g. of another checkout sharing the cache.
        local fd
        exec {fd}>>"$CHROOT_CACHE/$suite/lock"
        flock -s "$fd"
        mkdir -p "$dir/upper" "$dir/work" "$dir/merged"
        CHROOT_SESSION_OVERLAY="lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work"
        CHROOT_SESSION_ROOT=$dir/merged
        if ! unshare --mount --propagation private -- mount -t overlay overlay -o "$CHROOT_SESSION_OVERLAY" "$dir/merged" 2>/dev/null; then
                chroot_log "overlayfs not available here: copying the $suite chroot"
                CHROOT_SESSION_OVERLAY=
                rm -rf "$dir/merged"
                cp -a "$lower" "$dir/merged"
        fi
        export CHROOT_SESSION_ROOT CHROOT_SESSION_OVERLAY
}

# chroot_run CMD...: as root inside the session's chroot.
chroot_run() {
        [[ -n $CHROOT_SESSION_ROOT ]] || { chroot_log "no session"; return 1; }
        if [[ -z $CHROOT_SESSION_OVERLAY ]]; then
                chroot_exec "$CHROOT_SESSION_ROOT" "$@"
                return
        fi
        unshare --mount --propagation private -- /bin/sh -ec '
                root=$1 opts=$2; shift 2
                mount -t overlay overlay -o "$opts" "$root"
                mount -t proc proc "$root/proc"
                exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
                        DEBIAN_FRONTEND=noninteractive "$@"' chroot_run "$CHROOT_SESSION_ROOT" "$CHROOT_SESSION_OVERLAY" "$@"
}


# chroot_put HOSTPATH CHROOTDIR: copies a file or tree into the session's chroot.
chroot_put() {
        local src=$1 dst=$2
        tar -C "$(dirname "$src")" -cf - "$(basename "$src")" | chroot_run sh -c "mkdir -p '$dst' && tar -C '$dst' -xf -"
}

# chroot_get CHROOTPATH HOSTDIR: copies a file out of the session's chroot.
chroot_get() {
        local src=$1 dst=$2
        mkdir -p "$dst"
        chroot_run tar -C "$(dirname "$src")" -cf - "$(basename "$src")" | tar -C "$dst" -xf -
}
