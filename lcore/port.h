// Port setup: attach a DPDK device by its devargs, configure queues and start it.
//
// Runs on the control thread at start-up and shutdown only (never on a worker). Failures are
// reported as std::runtime_error with the device and the DPDK error text, so the runner can
// print one clear line instead of a DPDK return code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <rte_ether.h>

struct rte_mempool;

namespace lcore {

struct PortSetup {
  uint16_t queues = 1;  // rx and tx queue pairs: one per worker
  uint16_t mtu = 1500;
  rte_mempool* pool = nullptr;
  bool promiscuous = true;  // uplinks: see every frame (VIP MACs are the port's own anyway)
};

// "net_af_packet0,iface=veth0" -> adds ",qpairs=N" for af_packet when it is missing and N > 1.
std::string with_queue_args(const std::string& devargs, uint16_t queues);

// Probes the device (vdev spec or PCI address) and returns its ethdev port id.
uint16_t attach_device(const std::string& devargs);

// Configures rx/tx queues (symmetric Toeplitz RSS when queues > 1), the MTU, and starts it.
void start_port(uint16_t port, const PortSetup& setup);

rte_ether_addr port_mac(uint16_t port);
std::string port_name(uint16_t port);

// Stops and closes the port; never throws (shutdown path).
void close_port(uint16_t port);

// Full-NAT return traffic steering (rte_flow): TCP and UDP to each SNAT address whose
// destination port p has p % queues == q go to rx queue q, the queue of the worker that owns
// that port. Needs a power-of-two queue count and a device that can match on masked L4 ports.
// Returns true if every rule was installed; otherwise installs nothing, sets *why, and workers
// hand such packets to the owning worker through a ring instead.
struct SnatAddress {
  uint8_t addr[16];  // network order; IPv4 in the first 4 bytes
  bool v6;
};
bool steer_snat_ports(uint16_t port, const SnatAddress* addrs, size_t n, uint16_t queues,
                      std::string* why);

// Formats a MAC as "aa:bb:cc:dd:ee:ff".
std::string mac_str(const rte_ether_addr& mac);

}  // namespace lcore
