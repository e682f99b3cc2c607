# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the tests that run Debian's real grub-mkconfig on a tree.
#
# write_grub_probe FILE N PARTMAP: writes a stand-in for grub-probe (which would look at the
# host's disks) answering for an ext4 root on partition N of /dev/vda with partition map PARTMAP
# (gpt or msdos). The test binds it over the real grub-probe in its own mount namespace.
write_grub_probe() {
        local file=$1 n=$2 partmap=$3
        cat > "$file" <<PROBE
#!/bin/sh
for a in "\$@"; do case "\$a" in --target=*) t=\${a#--target=} ;; esac; done
case "\$t" in
        device) echo /dev/vda$n ;;
        disk) echo /dev/vda ;;
        fs) echo ext2 ;;
        fs_uuid) echo 4e1f6c0a-6d2b-4c4e-9a51-1f0c2b7d3e99 ;;
        partuuid) echo 0a1b2c3d-0$n ;;
        partmap) echo $partmap ;;
        abstraction | compatibility_hint | hints_string | cryptodisk_uuid) ;;
        drive) echo '(hd0,$partmap$n)' ;;
        *) echo "fake grub-probe: \$t" >&2; exit 1 ;;
esac
PROBE
        chmod +x "$file"
}
