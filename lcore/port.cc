// Port setup on the control thread (see port.h).
#include "lcore/port.h"

#include <cstring>
#include <stdexcept>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

#include <vector>

namespace lcore {

namespace {

constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;

[[noreturn]] void fail(const std::string& what, int rc) {
  throw std::runtime_error(what + ": " + rte_strerror(rc < 0 ? -rc : rc));
}

// The Toeplitz key 0x6d5a repeated hashes (src, dst) and (dst, src) alike, so both
// directions of a flow land on the same queue (Woo and Park, "Scalable TCP Session Monitoring
// with Symmetric Receive-side Scaling").
void fill_symmetric_key(uint8_t* key, size_t len) {
  for (size_t i = 0; i < len; ++i) key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
}

}  // namespace

std::string with_queue_args(const std::string& devargs, uint16_t queues) {
  if (queues > 1 && devargs.rfind("net_af_packet", 0) == 0 &&
      devargs.find("qpairs=") == std::string::npos) {
    return devargs + ",qpairs=" + std::to_string(queues);
  }
  return devargs;
}

uint16_t attach_device(const std::string& devargs) {
  const int rc = rte_dev_probe(devargs.c_str());
  if (rc != 0) {
    // Drivers report the cause in their own log line and most return a bare -1.
    throw std::runtime_error("cannot attach device \"" + devargs + "\"" +
                             (rc == -1 ? std::string(" (the driver's message is above)")
                                       : std::string(": ") + rte_strerror(-rc)));
  }
  // vdevs are named by what precedes the first comma; PCI ports by their address.
  const std::string name = devargs.substr(0, devargs.find(','));
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0) return port;
  rte_dev_iterator it;
  if (rte_eth_iterator_init(&it, devargs.c_str()) == 0) {
    port = rte_eth_iterator_next(&it);
    rte_eth_iterator_cleanup(&it);
    if (port != RTE_MAX_ETHPORTS) return port;
  }
  throw std::runtime_error("device \"" + devargs + "\" was attached but has no ethdev port");
}

void start_port(uint16_t port, const PortSetup& setup) {
  const std::string name = port_name(port);
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port, &info);
  if (rc != 0) fail("port " + name + ": cannot read device info", rc);
  if (setup.queues > info.max_rx_queues || setup.queues > info.max_tx_queues) {
    throw std::runtime_error("port " + name + " supports " + std::to_string(info.max_rx_queues) +
                             " rx / " + std::to_string(info.max_tx_queues) + " tx queues, " +
                             std::to_string(setup.queues) + " workers need one each");
  }

  rte_eth_conf conf{};
  uint8_t key[64];
  if (setup.queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    const size_t key_len = info.hash_key_size != 0 ? info.hash_key_size : 40;
    fill_symmetric_key(key, key_len < sizeof(key) ? key_len : sizeof(key));
    conf.rx_adv_conf.rss_conf.rss_key = key;
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key_len);
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  }
  rc = rte_eth_dev_configure(port, setup.queues, setup.queues, &conf);
  if (rc != 0) fail("port " + name + ": configure failed", rc);

  uint16_t nb_rxd = kRxDescriptors, nb_txd = kTxDescriptors;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
  if (rc != 0) fail("port " + name + ": descriptor counts refused", rc);
  const int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; q < setup.queues; ++q) {
    rc = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, nullptr, setup.pool);
    if (rc != 0) fail("port " + name + ": rx queue " + std::to_string(q) + " setup failed", rc);
    rc = rte_eth_tx_queue_setup(port, q, nb_txd, socket, nullptr);
    if (rc != 0) fail("port " + name + ": tx queue " + std::to_string(q) + " setup failed", rc);
  }

  uint16_t current_mtu = 0;
  if (rte_eth_dev_get_mtu(port, &current_mtu) == 0 && current_mtu != setup.mtu) {
    rc = rte_eth_dev_set_mtu(port, setup.mtu);
    if (rc != 0 && rc != -ENOTSUP) fail("port " + name + ": cannot set MTU", rc);
  }

  rc = rte_eth_dev_start(port);
  if (rc != 0) fail("port " + name + ": start failed", rc);
  if (setup.promiscuous) {
    rc = rte_eth_promiscuous_enable(port);
    if (rc != 0 && rc != -ENOTSUP) fail("port " + name + ": cannot enable promiscuous mode", rc);
    rc = rte_eth_allmulticast_enable(port);
    if (rc != 0 && rc != -ENOTSUP) fail("port " + name + ": cannot enable all-multicast", rc);
  }
}

rte_ether_addr port_mac(uint16_t port) {
  rte_ether_addr mac{};
  const int rc = rte_eth_macaddr_get(port, &mac);
  if (rc != 0) fail("port " + std::to_string(port) + ": cannot read MAC", rc);
  return mac;
}

std::string port_name(uint16_t port) {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  if (rte_eth_dev_get_name_by_port(port, name) != 0) return std::to_string(port);
  return name;
}

void close_port(uint16_t port) {
  rte_eth_dev_stop(port);
  rte_eth_dev_close(port);
}

std::string mac_str(const rte_ether_addr& mac) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof(buf), &mac);
  for (char* c = buf; *c; ++c) *c = static_cast<char>(tolower(*c));
  return buf;
}

bool steer_snat_ports(uint16_t port, const SnatAddress* addrs, size_t n, uint16_t queues,
                      std::string* why) {
  if (queues < 2) {
    *why = "one worker";
    return false;
  }
  if ((queues & (queues - 1)) != 0) {
    *why = "worker count is not a power of two";
    return false;
  }
  std::vector<rte_flow*> made;
  auto undo = [&](const std::string& reason) {
    for (rte_flow* f : made) {
      rte_flow_error e;
      rte_flow_destroy(port, f, &e);
    }
    *why = reason;
    return false;
  };
  for (size_t a = 0; a < n; ++a) {
    for (const uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
      for (uint16_t q = 0; q < queues; ++q) {
        rte_flow_attr attr{};
        attr.ingress = 1;
        rte_flow_item_ipv4 ip4{}, ip4_mask{};
        rte_flow_item_ipv6 ip6{}, ip6_mask{};
        rte_flow_item_tcp tcp{}, tcp_mask{};
        rte_flow_item_udp udp{}, udp_mask{};
        rte_flow_item items[4] = {};
        items[0].type = RTE_FLOW_ITEM_TYPE_ETH;
        if (addrs[a].v6) {
          std::memcpy(ip6.hdr.dst_addr, addrs[a].addr, 16);
          std::memset(ip6_mask.hdr.dst_addr, 0xff, 16);
          items[1] = {RTE_FLOW_ITEM_TYPE_IPV6, &ip6, nullptr, &ip6_mask};
        } else {
          std::memcpy(&ip4.hdr.dst_addr, addrs[a].addr, 4);
          ip4_mask.hdr.dst_addr = 0xffffffffu;
          items[1] = {RTE_FLOW_ITEM_TYPE_IPV4, &ip4, nullptr, &ip4_mask};
        }
        const rte_be16_t spec = rte_cpu_to_be_16(q);
        const rte_be16_t mask = rte_cpu_to_be_16(static_cast<uint16_t>(queues - 1));
        if (proto == 6) {
          tcp.hdr.dst_port = spec;
          tcp_mask.hdr.dst_port = mask;
          items[2] = {RTE_FLOW_ITEM_TYPE_TCP, &tcp, nullptr, &tcp_mask};
        } else {
          udp.hdr.dst_port = spec;
          udp_mask.hdr.dst_port = mask;
          items[2] = {RTE_FLOW_ITEM_TYPE_UDP, &udp, nullptr, &udp_mask};
        }
        items[3].type = RTE_FLOW_ITEM_TYPE_END;
        rte_flow_action_queue queue{q};
        rte_flow_action actions[2] = {};
        actions[0] = {RTE_FLOW_ACTION_TYPE_QUEUE, &queue};
        actions[1].type = RTE_FLOW_ACTION_TYPE_END;
        rte_flow_error err{};
        if (rte_flow_validate(port, &attr, items, actions, &err) != 0) {
          return undo(std::string("rte_flow: ") + (err.message ? err.message : "not supported"));
        }
        rte_flow* f = rte_flow_create(port, &attr, items, actions, &err);
        if (f == nullptr) {
          return undo(std::string("rte_flow: ") + (err.message ? err.message : "create failed"));
        }
        made.push_back(f);
      }
    }
  }
  return true;
}

}  // namespace lcore
