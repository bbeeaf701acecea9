/**
 * rtnetlink numbers from the Linux UAPI headers (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
 * linux/if_addr.h, linux/neighbour.h, linux/if_tunnel.h), named after their C names so a reader can
 * grep the kernel for them. Only what Petrel sends or reads is listed.
 */

// linux/netlink.h — message types and flags (RFC 3549 §2.3.2 describes the header).
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

// linux/rtnetlink.h — message types.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

// Multicast groups (enum rtnetlink_groups) — joined with NETLINK_ADD_MEMBERSHIP by number.
export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV6_IFADDR = 9;
export const RTNLGRP_IPV6_ROUTE = 11;
export const NFNLGRP_NFTABLES = 7; // linux/netfilter/nfnetlink.h

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

// struct rtmsg fields and route attributes.
export const RTMSG_LEN = 12;
export const RT_TABLE_MAIN = 254;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;
export const RTPROT_STATIC = 4; // a route the administrator (here: the CNI plugin, inside a pod) set
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const RTNH_F_ONLINK = 4;
export const RTNH_LEN = 8; // struct rtnexthop

// struct ifinfomsg and link attributes.
export const IFINFOMSG_LEN = 16;
export const IFF_UP = 0x1;
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
export const VETH_INFO_PEER = 1; // linux/veth.h: nested struct ifinfomsg + link attributes
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15; // network byte order
export const IFLA_VXLAN_LOCAL6 = 17;

// struct ifaddrmsg and address attributes.
export const IFADDRMSG_LEN = 8;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;

// struct ndmsg and neighbour attributes.
export const NDMSG_LEN = 12;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NUD_STALE = 0x04;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;

/** errno names for the codes we expect to see (asm-generic/errno*.h); others print as E<number>. */
export const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES',
  16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 24: 'EMFILE', 34: 'ERANGE', 90: 'EMSGSIZE',
  93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 101: 'ENETUNREACH', 105: 'ENOBUFS',
  110: 'ETIMEDOUT', 113: 'EHOSTUNREACH',
};
export const EEXIST = 17;
export const ENOENT = 2;
export const ESRCH = 3;
export const ENODEV = 19;
export const EAGAIN = 11;
export const ENOBUFS = 105;
export const EOPNOTSUPP = 95;
