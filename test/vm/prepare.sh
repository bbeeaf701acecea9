#!/bin/bash
# Prepares the microVM used by the IPIP end-to-end test (test/vm/ipip.test.ts): Debian's stock kernel
# (this machine's kernel has no ipip module) booted by qemu on the host's own read-only userspace.
# Output: $PETREL_VM_DIR (default test/vm/build, git-ignored): kernel/vmlinux, kernel/lib/modules,
# kernel/version, initrd.img. Idempotent: does nothing when the output is already complete.
# Bounded: every download goes through apt with its own timeouts; the whole script is run under
# `timeout` by .ci/run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${PETREL_VM_DIR:-$here/build}
if [ -s "$out/kernel/version" ] && [ -s "$out/initrd.img" ] && [ -s "$out/kernel/vmlinux" ]; then
  echo "vm: already prepared in $out ($(cat "$out/kernel/version"))"; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
pkgs=()
for p in qemu-system-x86 busybox-static cpio kmod xz-utils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
fi
# The metapackage names the current kernel package; its version is the module directory's name.
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
kver=${kpkg#linux-image-}
rm -rf "$out/kernel" "$out/initrd" "$out/initrd.img"
mkdir -p "$out/kernel" "$out/initrd/bin" "$out/initrd/proc" "$out/initrd/sys" "$out/initrd/dev"
(cd "$out/kernel" && apt-get download "$kpkg" >/dev/null && dpkg -x "$kpkg"_*.deb . && rm -f "$kpkg"_*.deb)
depmod -b "$out/kernel" "$kver" # the package ships without modules.dep
# qemu's microvm machine boots an uncompressed vmlinux (PVH); the bzImage carries it xz-compressed.
bz="$out/kernel/boot/vmlinuz-$kver"
xzoff=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1)
tail -c +$((xzoff + 1)) "$bz" | xz -dcq --single-stream > "$out/kernel/vmlinux" || true
[ -s "$out/kernel/vmlinux" ] || { echo "vm: could not extract vmlinux from $bz" >&2; exit 1; }
cp /bin/busybox "$out/initrd/bin/" && ln -sf busybox "$out/initrd/bin/sh"
modprobe -d "$out/kernel" -S "$kver" --show-depends -a virtio_pci virtio_mmio 9pnet_virtio 9p overlay |
  awk '{ print $2 }' | awk '!seen[$0]++' | sed "s|^$out/kernel/lib/modules/$kver/||" > "$out/initrd/modules.list"
while read -r m; do install -D -m644 "$out/kernel/lib/modules/$kver/$m" "$out/initrd/lib/modules/$kver/$m"; done < "$out/initrd/modules.list"
install -m755 "$here/initrd-init.sh" "$out/initrd/init"
(cd "$out/initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
echo "$kver" > "$out/kernel/version"
echo "vm: prepared $kver in $out"
