#!/bin/bash
# Boots the microVM prepared by prepare.sh and runs one guest script as its PID 1:
#   test/vm/run.sh /abs/path/guest-script [outdir]
# The guest sees this machine's root read-only (9p) under a throwaway overlay, so node, iproute2
# and the project are there; `outdir` is mounted read-write at /mnt/out. Exits with the guest's
# status (reported through qemu's isa-debug-exit port), 99 when the guest stopped without one.
# Bounded by PETREL_VM_TIMEOUT seconds (default 300). qemu runs in software emulation (TCG).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm=${PETREL_VM_DIR:-$here/build}
kver=$(cat "$vm/kernel/version") || { echo "vm: not prepared (run test/vm/prepare.sh)" >&2; exit 98; }
guest=$1
out=()
if [ -n "${2:-}" ]; then out=(-fsdev "local,id=out,path=$2,security_model=none" -device virtio-9p-device,fsdev=out,mount_tag=out); fi
# The guest's TSC frequency from the host's, so its clock does not need calibrating.
khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
timeout "${PETREL_VM_TIMEOUT:-300}" qemu-system-x86_64 -M microvm -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
  -nodefaults -no-user-config -nographic -serial stdio -nic none -no-reboot \
  -kernel "$vm/kernel/vmlinux" -initrd "$vm/initrd.img" \
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap -device virtio-9p-device,fsdev=root,mount_tag=root \
  -fsdev "local,id=mods,path=$vm/kernel/lib/modules/$kver,security_model=none,readonly=on" -device virtio-9p-device,fsdev=mods,mount_tag=mods \
  "${out[@]}" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -append "console=ttyS0 quiet panic=-1 tsc_early_khz=$khz tsc=reliable init=$guest"
rc=$?
# isa-debug-exit makes qemu exit with (value << 1) | 1; 0 means the guest powered off without a status.
case $rc in
  0) echo "vm: the guest stopped without reporting a status" >&2; exit 99 ;;
  124) echo "vm: timed out after ${PETREL_VM_TIMEOUT:-300} s" >&2; exit 124 ;;
  *[13579]) exit $((rc >> 1)) ;;
  *) exit "$rc" ;;
esac
