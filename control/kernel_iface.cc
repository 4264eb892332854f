// Configuring the kernel side of the exception tap over rtnetlink (RFC 3549, rtnetlink(7)).
//
// Control thread only, at start-up. Each request is sent with NLM_F_ACK and the kernel's answer
// is read back, so every failure carries the kernel's errno.
#include "control/kernel_iface.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace control {

namespace {

struct Request {
  nlmsghdr hdr;
  char payload[512];
};

void add_attr(Request& req, uint16_t type, const void* data, size_t len) {
  const size_t off = NLMSG_ALIGN(req.hdr.nlmsg_len);
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + off);
  rta->rta_type = type;
  rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(rta), data, len);
  req.hdr.nlmsg_len = static_cast<uint32_t>(off + RTA_ALIGN(rta->rta_len));
}

// Sends one request and waits for its acknowledgement; returns 0 or -errno.
int transact(Request& req) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  req.hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  req.hdr.nlmsg_seq = 1;
  int rc = 0;
  if (sendto(fd, &req, req.hdr.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) <
      0) {
    rc = -errno;
  } else {
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      rc = -errno;
    } else {
      auto* h = reinterpret_cast<nlmsghdr*>(buf);
      if (NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == NLMSG_ERROR) {
        rc = static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;  // 0 = ack, else -errno
      }
    }
  }
  close(fd);
  return rc;
}

unsigned ifindex_of(const std::string& ifname) {
  const unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) throw std::runtime_error("kernel interface " + ifname + " not found");
  return idx;
}

void check(int rc, const std::string& what) {
  if (rc != 0 && rc != -EEXIST) throw std::runtime_error(what + ": " + std::strerror(-rc));
}

int af_of(const config::IpAddress& a) { return a.is_v4() ? AF_INET : AF_INET6; }
size_t addr_len(const config::IpAddress& a) { return a.is_v4() ? 4 : 16; }

}  // namespace

void kernel_add_address(const std::string& ifname, const config::IpPrefix& prefix) {
  Request req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.hdr.nlmsg_type = RTM_NEWADDR;
  req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(&req.hdr));
  ifa->ifa_family = static_cast<uint8_t>(af_of(prefix.address));
  ifa->ifa_prefixlen = static_cast<uint8_t>(prefix.length);
  ifa->ifa_index = ifindex_of(ifname);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  // The data plane already owns the segment; duplicate address detection would only delay
  // the address by a second or more.
  if (prefix.address.is_v6()) ifa->ifa_flags = IFA_F_NODAD;
  const auto& b = prefix.address.bytes();
  add_attr(req, IFA_LOCAL, b.data(), addr_len(prefix.address));
  add_attr(req, IFA_ADDRESS, b.data(), addr_len(prefix.address));
  const uint32_t flags = ifa->ifa_flags;
  add_attr(req, IFA_FLAGS, &flags, sizeof(flags));
  check(transact(req), "cannot add " + prefix.str() + " to " + ifname);
}

void kernel_link_up(const std::string& ifname, uint16_t mtu) {
  Request req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.hdr.nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(&req.hdr));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = static_cast<int>(ifindex_of(ifname));
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  const uint32_t m = mtu;
  add_attr(req, IFLA_MTU, &m, sizeof(m));
  check(transact(req), "cannot bring up " + ifname);
}

void kernel_add_route(const std::string& ifname, const config::NodeRoute& route) {
  Request req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.hdr.nlmsg_type = RTM_NEWROUTE;
  req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* rt = static_cast<rtmsg*>(NLMSG_DATA(&req.hdr));
  rt->rtm_family = static_cast<uint8_t>(af_of(route.destination.address));
  rt->rtm_dst_len = static_cast<uint8_t>(route.destination.length);
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  const auto net = route.destination.network();
  if (route.destination.length > 0) {
    add_attr(req, RTA_DST, net.bytes().data(), addr_len(net));
  }
  add_attr(req, RTA_GATEWAY, route.gateway.bytes().data(), addr_len(route.gateway));
  const uint32_t oif = ifindex_of(ifname);
  add_attr(req, RTA_OIF, &oif, sizeof(oif));
  check(transact(req), "cannot add route " + route.destination.str() + " via " +
                           route.gateway.str() + " on " + ifname);
}

}  // namespace control
