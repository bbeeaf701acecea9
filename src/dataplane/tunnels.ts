/**
 * Tunnel devices Petrel owns: `tunl0` (IPIP, the ipip module's fallback device) and one VXLAN device
 * (default name `vxlan.petrel`), with their MTU, address and state.
 *
 * - tunl0 cannot be created or deleted by name like other links: it appears in every namespace when
 *   the ipip module loads. An RTM_NEWLINK "tunl0, kind ipip" without IFLA_INFO_DATA makes the kernel
 *   load the module on demand and then just sets MTU and IFF_UP on the existing device; without the
 *   module it answers EOPNOTSUPP. That answer becomes a status flag, a metric and one clear error
 *   (DP_ERR_IPIP_UNSUPPORTED), retried only at the next full resync, never a crash.
 *   "Removing" tunl0 means taking our address off it and setting it down.
 * - A VXLAN device's VNI, port, local address and underlay link cannot be changed in place: a
 *   mismatch deletes and recreates it. MTU, MAC and up/down are changed in place.
 * - MTUs follow the uplink: −20 for IPIP (outer IPv4 header), −50 for VXLAN over IPv4
 *   (IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14).
 * Anything found different from what we set before is counted as a drift repair.
 */
import type { KernelAddr, KernelLink, KernelOp, KernelPort } from './kernel.js';
import type { DataplaneMetrics, Logger } from './log.js';

export const IPIP_DEVICE = 'tunl0';
export const IPIP_OVERHEAD = 20;
export const VXLAN_OVERHEAD_V4 = 50;

export interface IpipWanted { address?: string; mtu: number }
export interface VxlanWanted { name: string; vni: number; port: number; local: string; link: number; mac: string; mtu: number; address?: string }

export interface TunnelIssue { code: string; message: string; errno?: number }

export class Tunnels {
  ipipSupported: boolean | undefined;
  private ipipOwned = false;
  private confirmed = new Set<string>(); // 'ipip', 'vxlan', 'addr:<dev>'
  private skipIpipUntilResync = false;
  /**
   * The address each tunnel device (by ifindex) is known to carry: set after a dump or a write,
   * forgotten on an address event for that device and at a resync. While known, a pass does not
   * dump the device's addresses again (it did on every pass: one netlink dump per BGP update).
   */
  private addrKnown = new Map<number, string | undefined>();
  repairs = 0;

  constructor(private readonly port: KernelPort, private readonly log: Logger, private readonly metrics: DataplaneMetrics) {}

  resyncStarted(): void {
    this.skipIpipUntilResync = false;
    this.addrKnown.clear();
  }

  /** An address appeared or went on device `index` (our own writes included): read it again. */
  addressEvent(index: number): void {
    this.addrKnown.delete(index);
  }

  private repaired(what: string, kind: 'link' | 'addr'): void {
    if (this.confirmed.has(what)) {
      this.repairs++;
      this.metrics.driftRepair(kind);
      this.log.info({ what }, 'repair');
    }
  }

  /** Brings the tunnels to the wanted state. Returns problems (never throws for kernel refusals). */
  async apply(links: Map<string, KernelLink>, ipip: IpipWanted | undefined, vxlan: VxlanWanted | undefined, vxlanName: string): Promise<{ issues: TunnelIssue[]; changed: boolean }> {
    const issues: TunnelIssue[] = [];
    let changed = false;
    if (ipip && this.skipIpipUntilResync) {
      issues.push({ code: 'DP_ERR_IPIP_UNSUPPORTED', message: 'the kernel refused an IPIP device: load the ipip module or use VXLAN/direct routing (retried at the next full resync)' });
    } else if (ipip) {
      const t = links.get(IPIP_DEVICE);
      if (!t || t.mtu !== ipip.mtu || !t.up) {
        if (t) this.repaired('ipip', 'link');
        const [err] = await this.port.write([{ op: 'link-set', link: { name: IPIP_DEVICE, kind: 'ipip', mtu: ipip.mtu, up: true } }]);
        if (err && (err.errno === 95 || err.errno === 93 || err.errno === 19)) {
          this.ipipSupported = false;
          this.skipIpipUntilResync = true;
          this.metrics.ipipUnsupported(true);
          this.metrics.error('DP_ERR_IPIP_UNSUPPORTED');
          this.log.error({ err: err.message }, 'ignore: this kernel cannot make IPIP tunnels (no ipip module); IPIP routes stay pending');
          issues.push({ code: 'DP_ERR_IPIP_UNSUPPORTED', errno: err.errno, message: `the kernel refused an IPIP device (${err.code}): load the ipip module or use VXLAN/direct routing` });
        } else if (err) {
          issues.push({ code: err.code, errno: err.errno, message: err.message });
        } else {
          changed = true;
          this.ipipOwned = true;
          if (this.ipipSupported !== true) this.metrics.ipipUnsupported(false);
          this.ipipSupported = true;
          this.log.info({ dev: IPIP_DEVICE, mtu: ipip.mtu }, t ? 'update' : 'install');
        }
      } else {
        this.ipipOwned = true;
        if (this.ipipSupported !== true) this.metrics.ipipUnsupported(false);
        this.ipipSupported = true;
      }
      this.confirmed.add('ipip');
    } else if (!ipip && this.ipipOwned) {
      const t = links.get(IPIP_DEVICE);
      if (t) {
        await this.setAddress(t.index, IPIP_DEVICE, undefined, issues);
        const [err] = await this.port.write([{ op: 'link-set', link: { index: t.index, name: IPIP_DEVICE, up: false } }]);
        if (err) issues.push({ code: err.code, errno: err.errno, message: err.message });
        else { this.log.info({ dev: IPIP_DEVICE }, 'delete'); changed = true; }
      }
      this.ipipOwned = false;
      this.confirmed.delete('ipip');
    }

    const v = links.get(vxlanName);
    if (vxlan) {
      const incompatible = v && (v.kind !== 'vxlan' || !v.vxlan || v.vxlan.vni !== vxlan.vni || v.vxlan.port !== vxlan.port ||
        v.vxlan.local !== vxlan.local || (v.vxlan.link ?? 0) !== vxlan.link || v.vxlan.learning);
      const ops: KernelOp[] = [];
      if (!v || incompatible) {
        if (v) { this.repaired('vxlan', 'link'); ops.push({ op: 'link-delete', index: v.index, name: v.name }); }
        else this.repaired('vxlan', 'link');
        ops.push({ op: 'link-set', link: { name: vxlanName, kind: 'vxlan', mtu: vxlan.mtu, up: true, mac: vxlan.mac,
          vxlan: { vni: vxlan.vni, port: vxlan.port, local: vxlan.local, link: vxlan.link, learning: false } } });
      } else if (v.mtu !== vxlan.mtu || !v.up || v.mac !== vxlan.mac) {
        this.repaired('vxlan', 'link');
        ops.push({ op: 'link-set', link: { index: v.index, name: vxlanName, mtu: vxlan.mtu, up: true, mac: vxlan.mac } });
      }
      if (ops.length) {
        const errs = await this.port.write(ops);
        const err = errs.find(Boolean);
        if (err) issues.push({ code: err.code, errno: err.errno, message: err.message });
        else { changed = true; this.log.info({ dev: vxlanName, vni: vxlan.vni, mtu: vxlan.mtu }, v ? 'update' : 'install'); }
      }
      this.confirmed.add('vxlan');
    } else if (v && v.kind === 'vxlan') {
      const [err] = await this.port.write([{ op: 'link-delete', index: v.index, name: v.name }]);
      if (err) issues.push({ code: err.code, errno: err.errno, message: err.message });
      else { changed = true; this.log.info({ dev: vxlanName }, 'delete'); }
      this.confirmed.delete('vxlan');
    }
    return { issues, changed };
  }

  /** Addresses of the tunnel devices (after links exist). */
  async applyAddresses(links: Map<string, KernelLink>, ipip: IpipWanted | undefined, vxlan: VxlanWanted | undefined): Promise<TunnelIssue[]> {
    const issues: TunnelIssue[] = [];
    const t = links.get(IPIP_DEVICE);
    if (ipip && t && this.ipipSupported) await this.setAddress(t.index, IPIP_DEVICE, ipip.address, issues);
    const v = vxlan ? links.get(vxlan.name) : undefined;
    if (vxlan && v) await this.setAddress(v.index, vxlan.name, vxlan.address, issues);
    return issues;
  }

  private async setAddress(index: number, dev: string, want: string | undefined, issues: TunnelIssue[]): Promise<void> {
    if (this.addrKnown.has(index) && this.addrKnown.get(index) === want) return;
    this.addrKnown.delete(index);
    const have = await this.port.dumpAddrs(index);
    const ops: KernelOp[] = [];
    const wantLen = want?.includes(':') ? 128 : 32;
    let found = false;
    for (const a of have) {
      if (a.address.startsWith('fe80:')) continue; // link-local, the kernel's
      if (want && a.address === want && a.prefixLen === wantLen) { found = true; continue; }
      ops.push({ op: 'addr-delete', addr: a });
    }
    if (want && !found) {
      ops.push({ op: 'addr-add', addr: { index, address: want, prefixLen: wantLen } satisfies KernelAddr });
    }
    if (!ops.length) {
      if (want) this.confirmed.add(`addr:${dev}`); else this.confirmed.delete(`addr:${dev}`);
      this.addrKnown.set(index, want);
      return;
    }
    const errs = await this.port.write(ops);
    errs.forEach((e) => { if (e) issues.push({ code: e.code, errno: e.errno, message: e.message }); });
    if (errs.some(Boolean)) return; // retried on the next pass; nothing counted
    if (want && !found) this.repaired(`addr:${dev}`, 'addr'); // counts only if it was confirmed before
    if (want) this.confirmed.add(`addr:${dev}`); else this.confirmed.delete(`addr:${dev}`);
    this.addrKnown.set(index, want);
    this.log.info({ dev, address: want }, want && !found ? 'install' : 'delete');
  }
}
