#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl's readers against the programs that really read the files (issue #20.6).

GRUB defaults: a generated corpus (real-world defaults files of Debian 12, Ubuntu 22.04/24.04,
Fedora/RHEL 9, openSUSE, Arch and Proxmox, each mutated the ways people and tools write them) is
sourced by dash and by bash --posix the way grub-mkconfig does (env -i, set -a, ". ./file"). What
iommuctl decodes must be what both shells assign, or iommuctl must refuse; after a real
"iommuctl apply" the shells must read the old value with the owned tokens gone and the profile's
tokens added before any "--", GRUB_DEFAULT unchanged.

BLS entries: systemd 252's bootctl (its bootspec.c reader, CR ends a line, options lines joined)
lists each entry before and after apply; iommuctl must read the same options, and apply must change
nothing but the owned tokens. /etc/kernel/cmdline: systemd 252's 90-loaderentry.install (run on
the tree) turns it into an entry before and after apply; same requirement.

Everything happens under a temporary directory; bootctl runs in a private mount namespace with the
tree's ESP bound onto itself. Usage: test-parsers-shell.py IOMMUCTL PROBE SRCDIR [SEED [N]]"""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

IOMMUCTL, PROBE, SRCDIR = sys.argv[1:4]
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else 20
N = int(sys.argv[5]) if len(sys.argv) > 5 else 100
OWNED = {b"iommu", b"intel_iommu", b"amd_iommu", b"iommu.passthrough", b"iommu.strict"}
WANTED = [b"intel_iommu=on", b"iommu=pt"]  # gpu-sriov, vendor intel
ENV = {"IOMMUCTL_PROFILES_PATH": os.path.join(SRCDIR, "profiles"), "PATH": os.environ["PATH"]}

failures = []
stats = {}


def count(what):
    stats[what] = stats.get(what, 0) + 1


def fail(name, msg):
    failures.append(f"{name}: {msg}")
    print(f"FAIL: {name}: {msg}")


# A port of the kernel's lib/cmdline.c next_arg() split (isspace() of lib/ctype.c, 0xA0 included),
# written for this test: the tokens as written, and init's part after a bare "--".
KSPACE = b" \t\n\v\f\r\xa0"


def kernel_split(s):
    toks, i, n = [], 0, len(s)
    while i < n and s[i] in KSPACE:
        i += 1
    while i < n:
        start, quoted = i, False
        while i < n and (quoted or s[i] not in KSPACE):
            if s[i] == 0x22:
                quoted = not quoted
            i += 1
        tok = s[start:i]
        while i < n and s[i] in KSPACE:
            i += 1
        if tok in (b"--", b'"--"'):
            return toks, s[i:]
        toks.append(tok)
    return toks, None


def key(tok):
    k = tok.strip(b'"').split(b"=", 1)[0]
    return k.replace(b"-", b"_")


def expected_after(before, wanted):
    toks, init = kernel_split(before)
    kept = [t for t in toks if key(t) not in OWNED]
    # In sync already: nothing changes.
    if sorted(t for t in toks if key(t) in OWNED) == sorted(wanted):
        return toks, init
    return kept + wanted, init


def same_init(a, b):
    return (a is None and b is None) or (a is not None and b is not None and a.rstrip(KSPACE) == b.rstrip(KSPACE))


# ---------------------------------------------------------------------------------------------
# GRUB defaults

REAL = {
    "debian12": b"""# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
# For full documentation of the options in this file, see:
#   info -f grub -n 'Simple configuration'

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""

# If your computer has multiple operating systems installed, then you
# probably want to run os-prober. However, if your computer is a host
# for guest OSes installed via LVM or raw disk devices, running
# os-prober can use a lot of resources. If you need that, set
# GRUB_DISABLE_OS_PROBER to false.
#GRUB_DISABLE_OS_PROBER=false

# Uncomment to enable BadRAM filtering, modify to suit your needs
#GRUB_BADRAM="0x01234567,0xfefefefe,0x89abcdef,0xefefefef"

# The resolution used on graphical terminal
# note that you can use only modes which your graphic card supports via VBE
# you can see them in real GRUB with the command `vbeinfo'
#GRUB_GFXMODE=640x480

# Uncomment if you don't want GRUB to pass "root=UUID=xxx" parameter to Linux
#GRUB_DISABLE_LINUX_UUID=true
""",
    "ubuntu2204": b"""GRUB_DEFAULT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"
GRUB_CMDLINE_LINUX=""
""",
    "ubuntu2404": b"""GRUB_DEFAULT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Ubuntu} ) 2>/dev/null || echo Ubuntu`
GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"
GRUB_CMDLINE_LINUX=""
""",
    "rhel9": b"""GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release 2>/dev/null)"
GRUB_DEFAULT=saved
GRUB_DISABLE_SUBMENU=true
GRUB_TERMINAL_OUTPUT="console"
GRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet"
GRUB_DISABLE_RECOVERY="true"
GRUB_ENABLE_BLSCFG=true
""",
    "opensuse": b"""# Modified by YaST2. Last modification on Mon Dec  7 10:00:00 UTC 2026
# THIS FILE WILL BE PARTIALLY OVERWRITTEN by perl-Bootloader
GRUB_DISTRIBUTOR=
GRUB_DEFAULT=saved
GRUB_HIDDEN_TIMEOUT=0
GRUB_HIDDEN_TIMEOUT_QUIET=true
GRUB_TIMEOUT=8
GRUB_CMDLINE_LINUX_DEFAULT="splash=silent resume=/dev/disk/by-uuid/0b8e1b4e mitigations=auto quiet security=apparmor"
GRUB_CMDLINE_LINUX=""
GRUB_CMDLINE_XEN_DEFAULT="vga=gfx-1024x768x16"
GRUB_TERMINAL="gfxterm"
GRUB_GFXMODE="auto"
GRUB_BACKGROUND=
GRUB_THEME=/boot/grub2/themes/openSUSE/theme.txt
SUSE_BTRFS_SNAPSHOT_BOOTING="true"
GRUB_USE_LINUXEFI="true"
GRUB_DISABLE_OS_PROBER="false"
GRUB_ENABLE_CRYPTODISK="n"
GRUB_CMDLINE_XEN=""
""",
    "arch": b"""# GRUB boot loader configuration

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="Arch"
GRUB_CMDLINE_LINUX_DEFAULT="loglevel=3 quiet"
GRUB_CMDLINE_LINUX=""

# Preload both GPT and MBR modules so that they are not missed
GRUB_PRELOAD_MODULES="part_gpt part_msdos"
GRUB_TIMEOUT_STYLE=menu
GRUB_TERMINAL_INPUT=console
GRUB_GFXPAYLOAD_LINUX=keep
GRUB_DISABLE_RECOVERY=true
""",
    "proxmox": b"""GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="Proxmox VE"
GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt pcie_acs_override=downstream,multifunction video=efifb:off"
GRUB_CMDLINE_LINUX=""
GRUB_DISABLE_OS_PROBER=true
""",
}

# The shapes of issue #20, each a fixed case (also in tests/unit/test-boot-grub.c).
FIXED = {
    "same-line": b'GRUB_TIMEOUT=5 GRUB_CMDLINE_LINUX="root=/dev/sda1 intel_iommu=off"\n',
    "export-two": b'export A=1 GRUB_CMDLINE_LINUX="root=/dev/sda1 iommu=off"\n',
    "continued-name": b'GRUB_CMDLINE_\\\nLINUX="root=/dev/sda1 iommu=off"\n',
    "and-if": b'GRUB_CMDLINE_LINUX="root=/dev/sda1"\ntrue && if false; then\nGRUB_CMDLINE_LINUX="x"\nfi\n',
    "two-ifs": b'GRUB_CMDLINE_LINUX="root=/dev/sda1"\nif true; then if false; then :; fi; GRUB_CMDLINE_LINUX=x; fi\n',
    "brace-word": b'echo a} } >/dev/null\nGRUB_CMDLINE_LINUX="root=/dev/sda1 iommu=off"\n',
    "paren-in-subst": b'if false; then X=$(echo ")"); GRUB_CMDLINE_LINUX=x; fi\nGRUB_CMDLINE_LINUX_DEFAULT=q\n',
    "cond-source": b'GRUB_CMDLINE_LINUX="root=/dev/sda1"\n[ -f /nonexistent/grub.local ] && . /nonexistent/grub.local\n',
    "command-dot": b'GRUB_CMDLINE_LINUX="root=/dev/sda1"\nif [ -f /nonexistent/x ]; then command . /nonexistent/x; fi\n',
    "escaped-dot": b'GRUB_CMDLINE_LINUX="root=/dev/sda1"\n[ ! -f /nonexistent/x ] || \\. /nonexistent/x\n',
    "only-sourced": b'[ -f /nonexistent/x ] && . /nonexistent/x\nGRUB_TIMEOUT=1\n',
    "heredoc-in-quotes": b'X="a << EOF"\nGRUB_CMDLINE_LINUX="root=/dev/sda1 iommu=off"\n',
    "tilde": b'GRUB_CMDLINE_LINUX=~/x\n',
    "tilde-quoted": b'GRUB_CMDLINE_LINUX="root=/dev/sda1 ~/x"\n',
    "dashdash": b'GRUB_CMDLINE_LINUX="root=/dev/sda1 ro -- single"\n',
    "dashdash-unquoted": b'GRUB_CMDLINE_LINUX=root=/dev/sda1\\ --\\ single\n',
    "nbsp": 'GRUB_CMDLINE_LINUX="root=/dev/sda1 systemd.hostname=voilà -- single"\n'.encode(),
    "assign-expansion": b': "${GRUB_CMDLINE_LINUX:=root=/dev/sda1}"\n',
    "read": b'read GRUB_CMDLINE_LINUX < /dev/null\nGRUB_TIMEOUT=1\n',
    "crlf": b'GRUB_TIMEOUT=5\r\nGRUB_CMDLINE_LINUX="root=/dev/sda1 iommu=off"\r\n',
    "heredoc": b'cat > /dev/null << EOF\nGRUB_X=$(\nEOF\nGRUB_CMDLINE_LINUX="root=/dev/sda1"\n',
}

NOISE = [
    b'X="a << EOF"',
    b'Y=$(echo ")")',
    b"echo a} } > /dev/null",
    b': "${FOO:=1}"',
    b"# don't `stop' here",
    b"if [ -d / ]; then if true; then :; fi; fi",
    b'case "$FOO" in a) Z=1 ;; *) Z=2 ;; esac',
    b"f() { :; }",
    b"Z=~",
    b"[ -f /nonexistent/x ] && . /nonexistent/x",
    b"GRUB_TIMEOUT=3; GRUB_DEFAULT=1",
]
OWNED_TOKENS = [b"intel_iommu=off", b"iommu=soft", b"amd_iommu=off", b"iommu.passthrough=0", b"intel-iommu=on"]
OTHER_TOKENS = [b"quiet", b"root=/dev/sda1", b"console=ttyS0,115200", "systemd.hostname=voilà".encode(), b"a=\"b c\"",
                b"rd.lvm.lv=vg/root", b"x=1\tb"]


def cmdline_lines(lines):
    return [i for i, l in enumerate(lines) if l.lstrip().startswith(b"GRUB_CMDLINE_LINUX")]


def requote(value, rnd):
    """A value written another way sh reads the same (or, on purpose, one that differs)."""
    how = rnd.randrange(5)
    if how == 0:
        return b"'" + value.replace(b"'", b"'\\''") + b"'"
    if how == 1:
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"$", b"\\$").replace(b"`", b"\\`") + b'"'
    if how == 2:
        out = b""
        for c in value:
            ch = bytes([c])
            out += b"\\" + ch if ch in b" \t\"'\\$`;&|<>(){}*?[~#" else ch
        return out or b"''"
    if how == 3 and len(value) > 2:
        cut = rnd.randrange(1, len(value))
        return b'"' + value[:cut].replace(b'"', b'\\"') + b"\"'" + value[cut:].replace(b"'", b"'\\''") + b"'"
    return b'"$GRUB_CMDLINE_LINUX ' + value.replace(b'"', b'\\"') + b'"'


def mutate(text, rnd):
    lines = text.split(b"\n")
    for _ in range(rnd.randrange(1, 5)):
        m = rnd.randrange(11)
        idx = cmdline_lines(lines)
        if m == 0 and idx:
            # Owned and other tokens into a value.
            i = rnd.choice(idx)
            name, _, value = lines[i].partition(b"=")
            toks = [rnd.choice(OWNED_TOKENS + OTHER_TOKENS) for _ in range(rnd.randrange(1, 4))]
            if rnd.random() < 0.3:
                toks += [b"--", b"single"]
            lines[i] = name + b"=" + requote(b" ".join(toks), rnd) if rnd.random() < 0.5 else \
                name + b"=" + requote(b" ".join(toks), rnd) + b" # comment"
        elif m == 1 and idx:
            # Two commands on one line: "A=1 B=2" (one command) or "A=1; B=2".
            i = rnd.choice(idx)
            if i > 0 and lines[i - 1] and not lines[i - 1].lstrip().startswith(b"#") and b"#" not in lines[i - 1]:
                lines[i - 1:i + 1] = [lines[i - 1] + rnd.choice([b" ", b"; ", b";"]) + lines[i]]
        elif m == 2 and idx:
            i = rnd.choice(idx)
            lines[i] = b"export " + lines[i]
        elif m == 3 and idx:
            i = rnd.choice(idx)
            cut = rnd.randrange(1, len(b"GRUB_CMDLINE_LINUX"))
            name = b"GRUB_CMDLINE_LINUX"
            lines[i] = lines[i].replace(name, name[:cut] + b"\\\n" + name[cut:], 1)
        elif m == 4 and idx:
            # Inside a block: a condition that holds, one that does not, a { } group.
            i = rnd.choice(idx)
            opener = rnd.choice([b"if true; then", b"if false; then", b"true && {", b"{"])
            lines[i:i + 1] = [opener, lines[i], b"fi" if opener.startswith(b"if") else b"}"]
        elif m == 5:
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(NOISE))
        elif m == 6:
            value = b" ".join(rnd.choice(OWNED_TOKENS + OTHER_TOKENS) for _ in range(rnd.randrange(0, 4)))
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice([b"GRUB_CMDLINE_LINUX=", b"GRUB_CMDLINE_LINUX_DEFAULT="]) +
                         requote(value, rnd))
        elif m == 7 and idx:
            i = rnd.choice(idx)
            lines[i] = lines[i] + b"\r"
        elif m == 8:
            lines.insert(rnd.randrange(len(lines) + 1), b'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX extra=1"')
        elif m == 9 and idx:
            del lines[rnd.choice(idx)]
        elif m == 10:
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice([b"GRUB_DEFAULT=saved", b'GRUB_DEFAULT="1>2"']))
    return b"\n".join(lines)


# grub-mkconfig's own sourcing: the defaults, then grub.d/*.cfg in the shell's (bytewise) order.
SHELL_SCRIPT = ('set -a; if test -f "$1"; then . "$1" > /dev/null 2>&1; fi; '
                'for x in "${1%/*}"/grub.d/*.cfg; do if [ -e "$x" ]; then . "$x"; fi; done; '
                'for v in GRUB_CMDLINE_LINUX GRUB_CMDLINE_LINUX_DEFAULT GRUB_DEFAULT; '
                'do eval "printf \'%s\\0%s\\0\' \\"\\${$v+set}\\" \\"\\${$v-}\\""; done')


def source(shell, path):
    """What grub-mkconfig's shell has after sourcing the file: {name: value or None}."""
    argv = {"dash": ["dash"], "bash": ["bash", "--posix"]}[shell]
    p = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent"] + argv + ["-c", SHELL_SCRIPT, "sh", path],
                       capture_output=True, timeout=20, cwd=os.path.dirname(path))
    parts = p.stdout.split(b"\0")
    out = {}
    for i, name in enumerate(["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_DEFAULT"]):
        out[name] = parts[2 * i + 1] if len(parts) > 2 * i + 1 and parts[2 * i] == b"set" else None
    return out


def probe(*args):
    p = subprocess.run([PROBE] + list(args), capture_output=True, timeout=20)
    return p.returncode, p.stdout


def apply(root):
    """exit status and stderr of a real apply; a sanitizer report anywhere is a failure of its own."""
    p = subprocess.run([IOMMUCTL, "apply", "--root", root, "--profile", "gpu-sriov", "--vendor", "intel",
                        "--no-bootloader-update"], capture_output=True, timeout=60, env=ENV)
    err = p.stderr.decode(errors="replace")
    if "Sanitizer" in err or "runtime error" in err:
        fail(root, f"sanitizer report: {err}")
    return p.returncode, err


def check_grub(tmp, name, text, debian=False):
    """debian: the tree is Debian's, where apply writes the tokens into grub.d/60-iommu.cfg."""
    root = os.path.join(tmp, "grub-" + name)
    os.makedirs(os.path.join(root, "etc/default/grub.d"))
    if debian:
        open(os.path.join(root, "etc/debian_version"), "w").write("12.8\n")
    path = os.path.join(root, "etc/default/grub")
    with open(path, "wb") as f:
        f.write(text)
    before = {sh: source(sh, path) for sh in ("dash", "bash")}
    # A file either shell cannot parse breaks grub-mkconfig: iommuctl must refuse it.
    syntax_ok = all(subprocess.run(argv + ["-n", path], capture_output=True).returncode == 0
                    for argv in (["dash"], ["bash", "--posix"]))
    shells_agree = before["dash"] == before["bash"] and syntax_ok
    decoded_ok = True
    for var in ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_DEFAULT"):
        rc, value = probe("grub", path, var)
        if rc == 0:
            shell_value = before["dash"][var] or b""
            if not shells_agree:
                fail(name, f"dash and bash differ on {var}, but iommuctl decoded {value!r}")
            elif value != shell_value:
                fail(name, f"{var}: iommuctl decoded {value!r}, dash assigns {shell_value!r}")
        elif var != "GRUB_DEFAULT":
            decoded_ok = False
    rc, err = apply(root)
    if rc != 0:
        count("grub: apply refused")
        # A refusal is exit 2 naming the file and line, never a crash.
        if rc != 2 or not re.search(r"etc/default/grub[^ ]*:[0-9]+", err) or "Sanitizer" in err or "runtime error" in err:
            fail(name, f"apply exit {rc} without file:line: {err.strip()}")
        return
    count("grub: applied" + (" (Debian drop-in)" if debian else ""))
    if not shells_agree:
        fail(name, "apply accepted a file dash and bash read differently" if syntax_ok else
             "apply accepted a file dash or bash cannot parse")
        return
    with open(path, "rb") as f:
        new = f.read()
    after = {sh: source(sh, path) for sh in ("dash", "bash")}
    for sh in ("dash", "bash"):
        a, b = before[sh], after[sh]
        if a["GRUB_DEFAULT"] != b["GRUB_DEFAULT"]:
            fail(name, f"{sh}: GRUB_DEFAULT {a['GRUB_DEFAULT']!r} became {b['GRUB_DEFAULT']!r}")
        for var, wanted in (("GRUB_CMDLINE_LINUX", WANTED), ("GRUB_CMDLINE_LINUX_DEFAULT", [])):
            want_toks, want_init = expected_after(a[var] or b"", wanted)
            got_toks, got_init = kernel_split(b[var] or b"")
            if var == "GRUB_CMDLINE_LINUX_DEFAULT" and a[var] == b[var]:
                continue
            if sorted(got_toks) != sorted(want_toks) or not same_init(got_init, want_init):
                fail(name, f"{sh}: {var} {a[var]!r} became {b[var]!r} "
                     f"(wanted tokens {want_toks!r} -- {want_init!r})")
            elif [t for t in got_toks if t not in wanted] != [t for t in want_toks if t not in wanted]:
                fail(name, f"{sh}: {var} reordered: {a[var]!r} -> {b[var]!r}")
    if not decoded_ok:
        count("grub: applied, value not known from the file alone")
    # A second apply changes nothing.
    rc, err = apply(root)
    with open(path, "rb") as f:
        if rc != 0 or f.read() != new:
            fail(name, f"second apply not idempotent (exit {rc}: {err.strip()})")


def grub_corpus():
    rnd = random.Random(SEED)
    corpus = [("real-" + k, v) for k, v in REAL.items()] + [("fixed-" + k, v) for k, v in FIXED.items()]
    bases = list(REAL.items())
    for i in range(N):
        base_name, base = rnd.choice(bases)
        corpus.append((f"mut{i:03d}-{base_name}", mutate(base, rnd)))
    return corpus


# The fixed cases' verdicts: refused, or applied and read by dash as expected.
FIXED_REFUSED = {"and-if", "two-ifs", "paren-in-subst", "cond-source", "command-dot", "escaped-dot", "only-sourced",
                 "tilde", "assign-expansion", "read", "heredoc"}


def check_fixed_verdicts(tmp):
    for name in FIXED:
        root = os.path.join(tmp, "grub-fixed-" + name)
        path = os.path.join(root, "etc/default/grub")
        with open(path, "rb") as f:
            new = f.read()
        refused = new == FIXED[name]
        if (name in FIXED_REFUSED) != refused:
            fail("fixed-" + name, "was refused" if refused else "was not refused")
    # The acceptance case of issue #20, by dash.
    path = os.path.join(tmp, "grub-fixed-same-line/etc/default/grub")
    got = source("dash", path)["GRUB_CMDLINE_LINUX"]
    if got != b"root=/dev/sda1 intel_iommu=on iommu=pt":
        fail("fixed-same-line", f"dash reads {got!r}")
    got = source("dash", os.path.join(tmp, "grub-fixed-nbsp/etc/default/grub"))["GRUB_CMDLINE_LINUX"]
    if got != "root=/dev/sda1 systemd.hostname=voilà intel_iommu=on iommu=pt -- single".encode():
        fail("fixed-nbsp", f"dash reads {got!r}")


# ---------------------------------------------------------------------------------------------
# BLS entries against bootctl

def bootctl_list(esp):
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" "$1" && exec bootctl --esp-path="$1" list --json=short --no-pager', "sh", esp],
                       capture_output=True, timeout=30, env=dict(ENV, SYSTEMD_RELAX_ESP_CHECKS="1"))
    if p.returncode != 0:
        return None
    out = p.stdout.decode()
    try:
        data = json.loads(out)
        return data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        return [json.loads(line) for line in out.splitlines() if line.strip()]


BLS = {
    "plain": b"title A\nlinux /vmlinuz\noptions root=/dev/sda1 ro iommu=off\ninitrd /initrd\n",
    "cr": b"title A\nlinux /vmlinuz\noptions root=/dev/sda1 ro intel_iommu=off\rinitrd /initrd\n",
    "crlf": b"title A\r\nlinux /vmlinuz\r\noptions root=/dev/sda1 ro\r\ninitrd /initrd\r\n",
    "lfcr": b"title A\n\rlinux /vmlinuz\n\roptions root=/dev/sda1 iommu=soft\n\rinitrd /initrd\n\r",
    "two-lines": b"title A\nlinux /vmlinuz\noptions root=/dev/sda1 amd_iommu=off\noptions quiet\ninitrd /initrd\n",
    "quote-spans": b'title A\nlinux /vmlinuz\noptions root=/dev/sda1 a="x\noptions y" iommu=off\ninitrd /initrd\n',
    "dashdash": "title A\nlinux /vmlinuz\noptions root=/dev/sda1 ro systemd.hostname=voilà -- single\ninitrd /initrd\n".encode(),
    "dashdash-line": b"title A\nlinux /vmlinuz\noptions root=/dev/sda1 -- single\noptions iommu=off\ninitrd /initrd\n",
    "tabs": b"title A\nlinux /vmlinuz\n  options\t root=/dev/sda1\t\tquiet  \t\ninitrd /initrd",
    "empty-options": b"title A\nlinux /vmlinuz\noptions\noptions root=/dev/sda1\n# options iommu=off\ninitrd /initrd\n",
    "in-sync": b"title A\nlinux /vmlinuz\noptions root=/dev/sda1 intel_iommu=on iommu=pt\ninitrd /initrd\n",
}


def check_bls(tmp, name, text):
    root = os.path.join(tmp, "bls-" + name)
    esp = os.path.join(root, "boot")
    os.makedirs(os.path.join(esp, "loader/entries"))
    for f in ("vmlinuz", "initrd"):
        open(os.path.join(esp, f), "wb").close()
    path = os.path.join(esp, "loader/entries/a.conf")
    with open(path, "wb") as f:
        f.write(text)
    before = bootctl_list(esp)
    if not before:
        fail("bls-" + name, "bootctl cannot list the entry")
        return
    rc, ours = probe("bls", path)
    if ours.decode() != before[0].get("options", ""):
        fail("bls-" + name, f"iommuctl reads options {ours!r}, bootctl {before[0].get('options')!r}")
    rc, err = apply(root)
    if rc != 0:
        fail("bls-" + name, f"apply failed: {err.strip()}")
        return
    count("bls: applied")
    after = bootctl_list(esp)
    b_opts, a_opts = before[0].get("options", "").encode(), after[0].get("options", "").encode()
    want_toks, want_init = expected_after(b_opts, WANTED)
    got_toks, got_init = kernel_split(a_opts)
    if got_toks != want_toks and sorted(got_toks) != sorted(want_toks) or not same_init(got_init, want_init):
        fail("bls-" + name, f"bootctl options {b_opts!r} became {a_opts!r}")
    for k in ("linux", "initrd", "title"):
        if before[0].get(k) != after[0].get(k):
            fail("bls-" + name, f"bootctl {k} {before[0].get(k)!r} became {after[0].get(k)!r}")
    # Nothing but the owned tokens changed: the file minus the inserted tokens, with the owned
    # tokens' bytes removed, is the original minus those bytes.
    with open(path, "rb") as f:
        new = f.read()
    if name == "dashdash" and new != text.replace(b" -- single", b" intel_iommu=on iommu=pt -- single"):
        fail("bls-" + name, f"the file changed beyond the inserted tokens: {new!r}")


# ---------------------------------------------------------------------------------------------
# /etc/kernel/cmdline against kernel-install's 90-loaderentry.install

KCMDLINE = {
    "one-line": b"root=/dev/sda1 ro iommu=off\n",
    "lines": b"root=/dev/sda1\nro\n\tquiet intel_iommu=off\n",
    "no-newline": b"root=/dev/sda1 quiet",
    "dashdash": "root=/dev/sda1 systemd.hostname=voilà -- single\n".encode(),
    "leading": b"   root=/dev/sda1  quiet  \n\n",
}


def loaderentry(root, tag):
    conf = os.path.join(root, "etc/kernel")
    entry_dir = os.path.join(root, "boot", "tok", "6.1.0-" + tag)
    os.makedirs(entry_dir, exist_ok=True)
    kernel = os.path.join(root, "vmlinuz")
    open(kernel, "wb").close()
    env = {"PATH": "/usr/bin:/bin", "KERNEL_INSTALL_LAYOUT": "bls", "KERNEL_INSTALL_CONF_ROOT": conf,
           "KERNEL_INSTALL_BOOT_ROOT": os.path.join(root, "boot"), "KERNEL_INSTALL_ENTRY_TOKEN": "tok",
           "KERNEL_INSTALL_MACHINE_ID": "0123456789abcdef0123456789abcdef", "KERNEL_INSTALL_VERBOSE": "0"}
    p = subprocess.run(["/usr/lib/kernel/install.d/90-loaderentry.install", "add", "6.1.0-" + tag, entry_dir, kernel],
                       capture_output=True, env=env, timeout=30)
    if p.returncode != 0:
        return None
    rc, opts = probe("bls", os.path.join(root, "boot/loader/entries/tok-6.1.0-" + tag + ".conf"))
    return opts


def check_kernel_cmdline(tmp, name, text):
    root = os.path.join(tmp, "kc-" + name)
    os.makedirs(os.path.join(root, "etc/kernel"))
    os.makedirs(os.path.join(root, "boot/loader/entries"))
    with open(os.path.join(root, "boot/loader/entries/a.conf"), "wb") as f:
        f.write(b"title A\nlinux /vmlinuz\noptions root=/dev/sda1\n")
    path = os.path.join(root, "etc/kernel/cmdline")
    with open(path, "wb") as f:
        f.write(text)
    before = loaderentry(root, "before")
    if before is None:
        fail("kc-" + name, "90-loaderentry.install failed")
        return
    rc, ours = probe("tokens", path)
    theirs = kernel_split(before)
    if ours.split(b"\n")[:len(theirs[0])] != theirs[0]:
        fail("kc-" + name, f"iommuctl tokens {ours!r}, kernel-install's entry {before!r}")
    rc, err = apply(root)
    if rc != 0:
        fail("kc-" + name, f"apply failed: {err.strip()}")
        return
    count("kernel-cmdline: applied")
    after = loaderentry(root, "after")
    want_toks, want_init = expected_after(before, WANTED)
    got_toks, got_init = kernel_split(after or b"")
    if sorted(got_toks) != sorted(want_toks) or not same_init(got_init, want_init):
        fail("kc-" + name, f"kernel-install's options {before!r} became {after!r}")
    with open(path, "rb") as f:
        new = f.read()
    kept = new.replace(b" intel_iommu=on iommu=pt", b"").replace(b"intel_iommu=on iommu=pt", b"")
    if name in ("no-newline", "dashdash", "leading") and kept != text:
        fail("kc-" + name, f"bytes outside the owned tokens changed: {text!r} -> {new!r}")


def main():
    tmp = tempfile.mkdtemp(prefix="test-parsers-shell.")
    try:
        corpus = grub_corpus()
        for i, (name, text) in enumerate(corpus):
            check_grub(tmp, name, text)
            if i % 4 == 0:
                check_grub(tmp, "debian-" + name, text, debian=True)
        check_fixed_verdicts(tmp)
        have_bootctl = shutil.which("bootctl") and os.geteuid() == 0
        if have_bootctl:
            for name, text in BLS.items():
                check_bls(tmp, name, text)
        else:
            fail("bls", "bootctl (systemd-boot) and root are needed for the comparison with systemd's reader")
        if os.access("/usr/lib/kernel/install.d/90-loaderentry.install", os.X_OK):
            for name, text in KCMDLINE.items():
                check_kernel_cmdline(tmp, name, text)
        else:
            fail("kernel-cmdline", "systemd's 90-loaderentry.install is needed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(corpus)} GRUB defaults files (seed {SEED}), {len(BLS)} BLS entries, {len(KCMDLINE)} kernel/cmdline files")
    for k in sorted(stats):
        print(f"  {k}: {stats[k]}")
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
