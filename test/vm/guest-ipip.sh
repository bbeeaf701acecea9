#!/bin/sh
# PID 1 inside the microVM (Debian's full kernel, with ipip): runs the IPIP end-to-end scenario
# (test/vm/ipip.guest.ts) with node:test and reports its status to the host via the debug-exit port.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root NO_COLOR=1 PETREL_REQUIRE_NETNS=1
# The checkout may live under /tmp or /run (CI clones anywhere): find it and bind it to /mnt/project
# BEFORE fresh tmpfs mounts hide those directories.
root=$(dirname "$(dirname "$(dirname "$(readlink -f "$0")")")")
mkdir -p /mnt/project && mount --bind "$root" /mnt/project || { echo "vm: cannot bind $root"; exit 1; }
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ip link set lo up
cd /mnt/project || exit 1
echo "vm: kernel $(uname -r), node $(node --version), up $(cut -d' ' -f1 /proc/uptime)s"
timeout "${PETREL_VM_NODE_TIMEOUT:-360}" node --import tsx --test --test-reporter=tap --test-timeout=300000 test/vm/ipip.guest.ts
rc=$?
echo "vm: RESULT rc=$rc"
[ -d /mnt/out ] && echo "rc=$rc" > /mnt/out/result
printf "\\$(printf %o $rc)" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
echo o > /proc/sysrq-trigger
sleep 10
