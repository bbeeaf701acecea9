#!/bin/sh
# PID 1 of the microVM's initramfs: load the virtio/9p/overlay modules, mount the host's root
# read-only through 9p under a throwaway tmpfs overlay, mount the kernel's modules and the optional
# output directory, then switch to the guest script named by init= on the kernel command line.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
kver=$(uname -r)
for m in $(cat /modules.list); do insmod "/lib/modules/$kver/$m" || echo "initrd: insmod $m failed"; done
target=/bin/sh
for a in $(cat /proc/cmdline); do case $a in init=*) target=${a#init=};; esac; done
opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /lower /rw /newroot
mount -t 9p -o ro,cache=loose,$opts root /lower || { echo "initrd: 9p root failed"; exec sh; }
mount -t tmpfs -o mode=755 tmpfs /rw; mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot
mkdir -p "/newroot/lib/modules/$kver"
mount -t 9p -o ro,cache=loose,$opts mods "/newroot/lib/modules/$kver"
if grep -qs '^out' /sys/bus/virtio/devices/*/mount_tag; then
  mkdir -p /newroot/mnt/out && mount -t 9p -o $opts out /newroot/mnt/out
fi
for d in proc sys dev; do mount --move /$d /newroot/$d; done
exec switch_root /newroot "$target"
