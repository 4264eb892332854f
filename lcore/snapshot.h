// The Snapshot: everything the data plane reads, immutable once published.
//
// The control thread compiles a new Snapshot on every configuration change and publishes it
// with SnapshotPublisher; workers load the current pointer once per burst and report a
// quiescent state once per loop (rte_rcu_qsbr). The old Snapshot is freed only after every
// worker has passed a quiescent point, so a worker never sees a Snapshot disappear under it.
//
// Threads: publish() runs on the control thread only; current() on any worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "nf/address_table.h"
#include "nf/l7.h"
#include "nf/lb_tables.h"

struct rte_rcu_qsbr;

namespace lcore {

struct Snapshot {
  uint64_t generation = 0;
  nf::AddressTable addresses;  // VIPs, SNAT and node addresses, with their announce ports
  nf::lb::Tables lb;           // L4 service ports, backends, Maglev tables, next hops
  nf::l7::Tables l7;           // HTTP listeners: the route classifier and the rules' actions
};

class SnapshotPublisher {
 public:
  // Allocates the QSBR variable for `workers` reader threads (thread ids 0..workers-1).
  explicit SnapshotPublisher(unsigned workers);
  ~SnapshotPublisher();
  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

  // Control thread: make `next` current, wait until no worker can still hold the previous one,
  // then free it. Blocks for at most one loop of the slowest worker.
  void publish(std::unique_ptr<Snapshot> next);

  // Workers: the current Snapshot (never null after the first publish).
  const Snapshot* current() const { return current_.load(std::memory_order_acquire); }
  rte_rcu_qsbr* qsbr() const { return qsbr_; }

 private:
  std::atomic<const Snapshot*> current_{nullptr};
  rte_rcu_qsbr* qsbr_ = nullptr;
  unsigned workers_ = 0;
};

}  // namespace lcore
