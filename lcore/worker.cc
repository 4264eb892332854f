// Worker loop (runs on worker lcores). See worker.h for the shape of one iteration.
#include "lcore/worker.h"

#include <time.h>

#include <algorithm>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

namespace lcore {

namespace {

// Empty polls before a worker starts to sleep, and the first sleep; sleeps then double up to
// idle_sleep_us, so a busy worker never sleeps and an idle one wakes within idle_sleep_us.
constexpr uint32_t kIdlePollsBeforeSleep = 512;
constexpr uint32_t kFirstSleepUs = 8;

// Sends pkts[0..n) on port/queue; frees and counts what the queue refused.
uint16_t send_or_count(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n,
                       Counter& refused) {
  if (n == 0) return 0;
  const uint16_t sent = rte_eth_tx_burst(port, queue, pkts, n);
  if (sent < n) {
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    refused.add(n - sent);
  }
  return sent;
}

}  // namespace

uint64_t CounterTotals::dropped_total() const {
  uint64_t sum = 0;
  for (uint64_t d : dropped) sum += d;
  return sum;
}

void CounterTotals::add(const WorkerCounters& c) {
  rx += c.rx.get();
  tx += c.tx.get();
  punted += c.punted.get();
  from_kernel += c.from_kernel.get();
  announced += c.announced.get();
  for (int i = 0; i < nf::kDropReasonCount; ++i) dropped[i] += c.dropped[i].get();
  for (int i = 0; i < kReplyKinds; ++i) replies[i] += c.replies[i].get();
}

void handle_uplink_burst(WorkerContext& w, const Snapshot& snap, unsigned port_index,
                         rte_mbuf** pkts, uint16_t n) {
  const WorkerPort& port = w.ports[port_index];
  rte_mbuf* replies[kBurst];
  rte_mbuf* punts[kBurst];
  rte_mbuf* drops[kBurst];
  uint16_t n_replies = 0, n_punts = 0, n_drops = 0;
  uint32_t reply_kinds[kReplyKinds] = {};

  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    rte_mbuf* m = pkts[i];
    if (unlikely(m->nb_segs != 1)) {
      // Pools are sized so a frame up to the MTU fits one segment; chained frames only come
      // from a misconfigured device.
      w.counters.dropped[static_cast<int>(nf::DropReason::kNoRoom)].add(1);
      drops[n_drops++] = m;
      continue;
    }
    uint16_t len = m->data_len;
    const uint16_t room = static_cast<uint16_t>(len + rte_pktmbuf_tailroom(m));
    const nf::Verdict v =
        nf::handle_frame(rte_pktmbuf_mtod(m, uint8_t*), &len, room, port.ctx, snap.addresses);
    switch (v.action) {
      case nf::Action::kReply:
        m->data_len = len;
        m->pkt_len = len;
        m->ol_flags = 0;
        replies[n_replies++] = m;
        ++reply_kinds[static_cast<int>(v.reply)];
        break;
      case nf::Action::kPunt:
        punts[n_punts++] = m;
        break;
      case nf::Action::kDrop:
        w.counters.dropped[static_cast<int>(v.drop)].add(1);
        drops[n_drops++] = m;
        break;
    }
  }

  for (int k = 0; k < kReplyKinds; ++k) {
    if (reply_kinds[k] != 0) w.counters.replies[k].add(reply_kinds[k]);
  }
  const auto tx_full = static_cast<int>(nf::DropReason::kTxFull);
  const auto punt_full = static_cast<int>(nf::DropReason::kPuntFull);
  w.counters.tx.add(
      send_or_count(port.uplink, w.queue, replies, n_replies, w.counters.dropped[tx_full]));
  w.counters.punted.add(
      send_or_count(port.tap, w.queue, punts, n_punts, w.counters.dropped[punt_full]));
  if (n_drops != 0) rte_pktmbuf_free_bulk(drops, n_drops);
}

unsigned poll_once(WorkerContext& w) {
  const Snapshot* snap = w.snapshots->current();
  unsigned handled = 0;
  rte_mbuf* pkts[kBurst];
  const auto tx_full = static_cast<int>(nf::DropReason::kTxFull);

  for (unsigned p = 0; p < w.n_ports; ++p) {
    const uint16_t n = rte_eth_rx_burst(w.ports[p].uplink, w.queue, pkts, kBurst);
    if (n == 0) continue;
    w.counters.rx.add(n);
    handle_uplink_burst(w, *snap, p, pkts, n);
    handled += n;
  }

  for (unsigned p = 0; p < w.n_ports; ++p) {
    const uint16_t n = rte_eth_rx_burst(w.ports[p].tap, w.queue, pkts, kBurst);
    if (n == 0) continue;
    w.counters.from_kernel.add(n);
    w.counters.tx.add(
        send_or_count(w.ports[p].uplink, w.queue, pkts, n, w.counters.dropped[tx_full]));
    handled += n;
  }

  if (w.control_tx != nullptr) {
    const unsigned n =
        rte_ring_sc_dequeue_burst(w.control_tx, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      if (m->port >= w.n_ports) {
        rte_pktmbuf_free(m);
        continue;
      }
      const uint16_t sent =
          send_or_count(w.ports[m->port].uplink, w.queue, &m, 1, w.counters.dropped[tx_full]);
      w.counters.tx.add(sent);
      w.counters.announced.add(sent);
    }
    handled += n;
  }
  return handled;
}

int worker_main(void* arg) {
  auto& w = *static_cast<WorkerContext*>(arg);
  rte_rcu_qsbr* qsbr = w.snapshots->qsbr();
  rte_rcu_qsbr_thread_register(qsbr, w.thread_id);
  rte_rcu_qsbr_thread_online(qsbr, w.thread_id);

  const uint32_t first_sleep_us = std::min(kFirstSleepUs, w.idle_sleep_us);
  uint32_t idle_polls = 0;
  uint32_t sleep_us = first_sleep_us;
  while (!w.stop->load(std::memory_order_relaxed)) {
    const unsigned handled = poll_once(w);
    rte_rcu_qsbr_quiescent(qsbr, w.thread_id);
    if (handled != 0 || w.idle_sleep_us == 0) {
      idle_polls = 0;
      sleep_us = first_sleep_us;
      continue;
    }
    if (++idle_polls < kIdlePollsBeforeSleep) continue;
    // Idle: sleep offline, so the control thread never waits on a sleeping worker.
    rte_rcu_qsbr_thread_offline(qsbr, w.thread_id);
    const timespec ts{0, static_cast<long>(sleep_us) * 1000};
    nanosleep(&ts, nullptr);
    rte_rcu_qsbr_thread_online(qsbr, w.thread_id);
    sleep_us = sleep_us * 2 > w.idle_sleep_us ? w.idle_sleep_us : sleep_us * 2;
  }

  rte_rcu_qsbr_thread_offline(qsbr, w.thread_id);
  rte_rcu_qsbr_thread_unregister(qsbr, w.thread_id);
  return 0;
}

}  // namespace lcore
