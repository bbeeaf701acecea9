import { clusterList, communities, extendedCommunities, largeCommunities, originatorId } from '../../../../src/bgp/wire/attributes/communities.js';
import { hex } from '../helpers.js';
import { runAttrTable } from './table.js';

runAttrTable(communities, [
  { name: '(64512,7) and NO_EXPORT', hex: 'fc000007 ffffff01', value: { communities: [64512 * 65536 + 7, 0xffffff01] } },
], [{ name: 'empty', hex: '' }, { name: 'five bytes', hex: 'fc00000701' }]);
runAttrTable(extendedCommunities, [
  { name: 'route target 64512:11', hex: '0002fc000000000b', value: { extendedCommunities: [hex`0002fc000000000b`] } },
], [{ name: 'empty', hex: '' }, { name: 'nine bytes', hex: '0002fc000000000b00' }]);
runAttrTable(largeCommunities, [
  { name: '(4200000000, 1, 2)', hex: 'fa56ea00 00000001 00000002', value: { largeCommunities: [[4200000000, 1, 2]] } },
], [{ name: 'empty', hex: '' }, { name: 'eight bytes', hex: '0000000100000002' }]);
runAttrTable(originatorId, [{ name: '198.51.100.9', hex: 'c6336409', value: { originatorId: '198.51.100.9' } }], [{ name: 'empty', hex: '' }]);
runAttrTable(clusterList, [
  { name: 'two cluster ids', hex: 'c6336464 c6336465', value: { clusterList: ['198.51.100.100', '198.51.100.101'] } },
], [{ name: 'empty', hex: '' }, { name: 'six bytes', hex: 'c6336464c633' }]);
