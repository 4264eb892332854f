// SnapshotPublisher: the RCU writer side (control thread) over rte_rcu_qsbr.
#include "lcore/snapshot.h"

#include <cstdlib>
#include <new>
#include <stdexcept>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace lcore {

SnapshotPublisher::SnapshotPublisher(unsigned workers) : workers_(workers) {
  const size_t size = rte_rcu_qsbr_get_memsize(workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("portico_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ == nullptr) throw std::runtime_error("cannot allocate the RCU QSBR variable");
  if (rte_rcu_qsbr_init(qsbr_, workers) != 0) {
    rte_free(qsbr_);
    throw std::runtime_error("rte_rcu_qsbr_init failed");
  }
}

SnapshotPublisher::~SnapshotPublisher() {
  // Workers have stopped by now (the runner joins them first).
  delete current_.exchange(nullptr);
  rte_free(qsbr_);
}

void SnapshotPublisher::publish(std::unique_ptr<Snapshot> next) {
  const Snapshot* old = current_.exchange(next.release(), std::memory_order_acq_rel);
  if (old == nullptr) return;
  // Every registered, online worker must report quiescence after the exchange before the old
  // Snapshot can go. Offline (sleeping) workers do not hold references.
  rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  delete old;
}

}  // namespace lcore
