/**
 * RTM_GETLINK of one name (RtnlKernel.getLink): the kernel's single answer, ENODEV as "none", in a
 * namespace of this test's own. The CNI plugin's DEL looks its host veth up this way instead of
 * dumping every link of the node.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, isRoot, removeStaleNamespaces, uniquePrefix } from '../../../src/lab/netns.js';
import { RtnlKernel } from '../../../src/dataplane/netlink/rtnl.js';

describe('RtnlKernel.getLink', { skip: isRoot() ? false : 'needs root (network namespaces)' }, () => {
  let lab: NetnsLab;
  let ns: string;
  let k: RtnlKernel;
  before(() => {
    removeStaleNamespaces('pgl');
    lab = new NetnsLab(uniquePrefix('pgl'));
    ns = lab.addNs('a');
    const b = lab.addNs('b');
    lab.veth(ns, 'petgetlink0', b, 'eth0', 1400);
    k = new RtnlKernel({ netns: ns, asyncWrites: true });
  });
  after(async () => { k?.close(); await lab?.destroy(); });

  it('answers one link by name, with what a dump would say of it', async () => {
    const l = await k.getLink('petgetlink0');
    const dumped = (await k.dumpLinks()).find((x) => x.name === 'petgetlink0');
    assert.ok(l && dumped);
    assert.deepEqual(l, dumped);
    assert.equal(l.mtu, 1400);
    assert.equal(l.kind, 'veth');
  });

  it('says undefined for a name that does not exist, and the socket keeps working', async () => {
    assert.equal(await k.getLink('nosuchlink0'), undefined);
    assert.equal((await k.getLink('lo'))?.name, 'lo');
  });
});
