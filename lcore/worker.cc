// Worker loop (runs on worker lcores). See worker.h for the shape of one iteration.
#include "lcore/worker.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
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

// TSC cycles this worker thread spent inside rx/tx burst calls during the current loop
// iteration; worker_main adds them to Counters::driver_cycles when the iteration was busy.
thread_local uint64_t t_driver_cycles = 0;

uint16_t timed_rx_burst(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  const uint64_t t0 = rte_rdtsc();
  const uint16_t got = rte_eth_rx_burst(port, queue, pkts, n);
  t_driver_cycles += rte_rdtsc() - t0;
  return got;
}

// Sends pkts[0..n) on port/queue; frees and counts what the queue refused.
uint16_t send_or_count(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n,
                       Counter& refused) {
  if (n == 0) return 0;
  const uint64_t t0 = rte_rdtsc();
  const uint16_t sent = rte_eth_tx_burst(port, queue, pkts, n);
  t_driver_cycles += rte_rdtsc() - t0;
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
  for (int i = 0; i < kForwardKinds; ++i) forwarded[i] += c.forwarded[i].get();
  new_flows += c.new_flows.get();
  stateless_flows += c.stateless_flows.get();
  backend_gone += c.backend_gone.get();
  handoffs_out += c.handoffs_out.get();
  handoffs_in += c.handoffs_in.get();
  conns += c.conns.get();
  expired += c.expired.get();
  held += c.held.get();
  released += c.released.get();
  consumed += c.consumed.get();
  busy_cycles += c.busy_cycles.get();
  idle_cycles += c.idle_cycles.get();
  driver_cycles += c.driver_cycles.get();
  for (int i = 0; i < kL7Counters; ++i) l7[i] += c.l7[i].get();
}

void init_l4(WorkerContext& w, unsigned worker, unsigned workers, uint64_t tsc_hz) {
  w.l4.conns = w.conns;
  w.l4.neighbors = w.neighbors;
  w.l4.worker = static_cast<uint16_t>(worker);
  w.l4.workers = static_cast<uint16_t>(workers == 0 ? 1 : workers);
  // One resolution request per next hop per 100 ms at most, whatever the packet rate.
  w.l4.request_interval = tsc_hz / 10;
  w.hold_ticks = tsc_hz;
  for (unsigned p = 0; p < w.n_ports && p < nf::lb::Tables::kMaxInterfaces; ++p) {
    w.l4.port_mac[p] = w.ports[p].ctx.mac;
  }
  w.l4.tsc_hz = tsc_hz;
  w.l4.l7 = w.l7;
  w.l4.secrets = w.secrets;
  if (w.traffic == nullptr) w.traffic = std::make_unique<nf::TrafficTable>();
  w.l4.traffic = w.traffic.get();
}

namespace {

// The L7 path's extra frames: mbufs from the worker's pool, queued in the context and sent
// after the burst (or the sweep) that made them.
class MbufSink final : public nf::l7::FrameSink {
 public:
  explicit MbufSink(WorkerContext& w) : w_(w) {}
  uint8_t* get(uint8_t port, uint16_t* cap) override {
    if (w_.pool == nullptr || w_.n_extra == WorkerContext::kExtraCapacity) return nullptr;
    rte_mbuf* m = rte_pktmbuf_alloc(w_.pool);
    if (m == nullptr) return nullptr;
    w_.extra_pending = m;
    port_ = port;
    *cap = static_cast<uint16_t>(rte_pktmbuf_tailroom(m));
    return rte_pktmbuf_mtod(m, uint8_t*);
  }
  void commit(uint16_t len) override {
    rte_mbuf* m = w_.extra_pending;
    w_.extra_pending = nullptr;
    if (m == nullptr) return;
    if (len == 0) {
      rte_pktmbuf_free(m);
      return;
    }
    m->data_len = len;
    m->pkt_len = len;
    m->ol_flags = 0;
    w_.extra[w_.n_extra] = m;
    w_.extra_port[w_.n_extra++] = port_;
  }

 private:
  WorkerContext& w_;
  uint8_t port_ = 0;
};

}  // namespace

namespace {

// Sends frames that go out another interface than they came in on (multi-interface setups).
void send_one(WorkerContext& w, uint8_t port_index, rte_mbuf* m) {
  const auto tx_full = static_cast<int>(nf::DropReason::kTxFull);
  if (port_index >= w.n_ports) {
    w.counters.dropped[static_cast<int>(nf::DropReason::kNoRoom)].add(1);
    rte_pktmbuf_free(m);
    return;
  }
  w.counters.tx.add(
      send_or_count(w.ports[port_index].uplink, w.queue, &m, 1, w.counters.dropped[tx_full]));
}

// The mbuf of a frame the data plane rewrote: it now starts `prepended` bytes earlier (a tunnel
// header) and is `len` bytes long, with no offload requests.
inline void set_sent_frame(rte_mbuf* m, uint16_t prepended, uint16_t len) {
  m->data_off = static_cast<uint16_t>(m->data_off - prepended);
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
}

// Puts a frame on hold for its next hop, or drops it when the hold (or that next hop's share of
// it) is full.
void hold_frame(WorkerContext& w, rte_mbuf* m, uint16_t nexthop, uint8_t port, nf::ForwardKind kind,
                uint64_t now) {
  unsigned same = 0;
  for (unsigned i = 0; i < w.n_held; ++i) same += w.held[i].nexthop == nexthop;
  if (w.n_held == WorkerContext::kHoldCapacity || same >= WorkerContext::kHoldPerNexthop ||
      port >= w.n_ports) {
    w.counters.dropped[static_cast<int>(nf::DropReason::kNeighborUnresolved)].add(1);
    rte_pktmbuf_free(m);
    return;
  }
  w.held[w.n_held++] = {m, now, nexthop, port, kind};
  w.counters.held.add(1);
}

// Sends the L7 path's extra frames (counted as L7 segments).
void flush_extra(WorkerContext& w) {
  for (unsigned i = 0; i < w.n_extra; ++i) send_one(w, w.extra_port[i], w.extra[i]);
  w.n_extra = 0;
}

// Copies the L7 counters the worker keeps in plain integers into the published ones.
void publish_l7_counters(WorkerContext& w) {
  if (w.l7 == nullptr) return;
  const auto* v = reinterpret_cast<const uint64_t*>(&w.l7->counters);
  for (int i = 0; i < kL7Counters; ++i) w.counters.l7[i].set(v[i]);
}

// Passes frames to the workers that own their flows, grouped by worker.
void send_handoffs(WorkerContext& w, rte_mbuf** pkts, const uint8_t* targets, uint16_t n) {
  bool sent[kBurst] = {};
  rte_mbuf* group[kBurst];
  for (uint16_t i = 0; i < n; ++i) {
    if (sent[i]) continue;
    const uint8_t target = targets[i];
    uint16_t g = 0;
    for (uint16_t j = i; j < n; ++j) {
      if (!sent[j] && targets[j] == target) {
        group[g++] = pkts[j];
        sent[j] = true;
      }
    }
    rte_ring* ring = target < kMaxWorkers ? w.handoff_tx[target] : nullptr;
    const unsigned done = ring == nullptr ? 0
                                          : rte_ring_mp_enqueue_burst(
                                                ring, reinterpret_cast<void**>(group), g, nullptr);
    w.counters.handoffs_out.add(done);
    if (done < g) {
      w.counters.dropped[static_cast<int>(nf::DropReason::kHandoffFull)].add(g - done);
      rte_pktmbuf_free_bulk(group + done, g - done);
    }
  }
}

void handle_burst(WorkerContext& w, const Snapshot& snap, unsigned port_index, rte_mbuf** pkts,
                  uint16_t n, bool from_handoff) {
  const WorkerPort& port = w.ports[port_index];
  rte_mbuf* out[kBurst];  // replies and forwards leaving by the port they came in on
  rte_mbuf* punts[kBurst];
  rte_mbuf* drops[kBurst];
  rte_mbuf* handoffs[kBurst];
  uint8_t handoff_to[kBurst];
  uint16_t n_out = 0, n_punts = 0, n_drops = 0, n_handoffs = 0;
  uint32_t reply_kinds[kReplyKinds] = {};
  uint32_t forward_kinds[kForwardKinds] = {};

  nf::L4Context* l4 = nullptr;
  nf::FlowHint hints[kBurst];
  MbufSink sink(w);
  uint32_t consumed = 0;
  if (w.conns != nullptr) {
    l4 = &w.l4;
    l4->tables = &snap.lb;
    l4->l7_tables = &snap.l7;
    l4->sink = &sink;
    l4->generation = static_cast<uint32_t>(snap.generation);
    l4->now = rte_rdtsc();
    l4->handoff_hops = 0;
    l4->new_flows_hinted = 0;
    // The memory the burst will need, fetched for all its frames before any is handled, in
    // dependency order: the headers; the connection table's home buckets; then the records
    // the buckets point to (or, for new full-NAT flows, their reply tuples' buckets).
    for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (uint16_t i = 0; i < n; ++i) {
      nf::flow_hint(rte_pktmbuf_mtod(pkts[i], const uint8_t*), pkts[i]->data_len, &hints[i]);
      if (hints[i].l4_offset != 0) w.conns->prefetch_bucket(hints[i].hash);
    }
    for (uint16_t i = 0; i < n; ++i) {
      nf::flow_prefetch(rte_pktmbuf_mtod(pkts[i], const uint8_t*), &hints[i], *l4);
    }
    if (w.l7 != nullptr && snap.l7.classifier() != nullptr) {
      for (uint16_t i = 0; i < n; ++i) nf::l7::prefetch_slot(hints[i], *l4);
    }
  }

  for (uint16_t i = 0; i < n; ++i) {
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
    const uint16_t headroom = rte_pktmbuf_headroom(m);
    uint8_t hops = 0;
    if (l4 != nullptr) {
      l4->hint = hints[i];
      if (from_handoff) {
        hops = static_cast<uint8_t>(m->hash.usr);
        l4->handoff_hops = hops;
      }
    }
    const nf::Verdict v = nf::handle_frame(rte_pktmbuf_mtod(m, uint8_t*), &len, room, headroom,
                                           port.ctx, snap.addresses, l4);
    switch (v.action) {
      case nf::Action::kReply:
        set_sent_frame(m, 0, len);
        out[n_out++] = m;
        ++reply_kinds[static_cast<int>(v.reply)];
        break;
      case nf::Action::kForward:
        set_sent_frame(m, nf::forward_prepended(v.forward), len);
        ++forward_kinds[static_cast<int>(v.forward)];
        if (v.port == port_index) {
          out[n_out++] = m;
        } else {
          send_one(w, v.port, m);
        }
        break;
      case nf::Action::kHold:
        set_sent_frame(m, nf::forward_prepended(v.forward), len);
        hold_frame(w, m, l4->hold_nexthop, v.port, v.forward, l4->now);
        break;
      case nf::Action::kHandoff:
        m->hash.usr = hops + 1u;
        m->port = port.uplink;  // the owner finds the receiving interface from it
        handoffs[n_handoffs] = m;
        handoff_to[n_handoffs++] = v.port;
        break;
      case nf::Action::kPunt:
        punts[n_punts++] = m;
        break;
      case nf::Action::kConsume:
        ++consumed;
        drops[n_drops++] = m;
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
  w.counters.tx.add(send_or_count(port.uplink, w.queue, out, n_out, w.counters.dropped[tx_full]));
  w.counters.punted.add(
      send_or_count(port.tap, w.queue, punts, n_punts, w.counters.dropped[punt_full]));
  if (n_drops != 0) rte_pktmbuf_free_bulk(drops, n_drops);
  if (consumed != 0) w.counters.consumed.add(consumed);
  if (w.n_extra != 0) flush_extra(w);
  if (n_handoffs != 0) send_handoffs(w, handoffs, handoff_to, n_handoffs);

  if (l4 != nullptr) {
    l4->hint = {};  // about frames of this burst only
    l4->sink = nullptr;  // lives on this function's stack
    for (int k = 0; k < kForwardKinds; ++k) {
      if (forward_kinds[k] != 0) w.counters.forwarded[k].add(forward_kinds[k]);
    }
    nf::L4Counters& c = l4->counters;
    if ((c.new_flows | c.stateless_flows | c.backend_gone) != 0) {
      w.counters.new_flows.add(c.new_flows);
      w.counters.stateless_flows.add(c.stateless_flows);
      w.counters.backend_gone.add(c.backend_gone);
    }
    c = {};
    if (l4->n_resolve != 0) {
      void* idx[nf::L4Context::kMaxResolve];
      for (unsigned i = 0; i < l4->n_resolve; ++i) {
        idx[i] = reinterpret_cast<void*>(static_cast<uintptr_t>(l4->resolve[i]) + 1);
      }
      if (w.resolve_tx != nullptr) {
        rte_ring_mp_enqueue_burst(w.resolve_tx, idx, l4->n_resolve, nullptr);
      }
      l4->n_resolve = 0;
    }
  }
}

}  // namespace

void handle_uplink_burst(WorkerContext& w, const Snapshot& snap, unsigned port_index,
                         rte_mbuf** pkts, uint16_t n) {
  handle_burst(w, snap, port_index, pkts, n, false);
}

void release_held(WorkerContext& w, uint64_t now) {
  unsigned keep = 0;
  for (unsigned i = 0; i < w.n_held; ++i) {
    const WorkerContext::HeldFrame h = w.held[i];
    uint8_t mac[6];
    if (w.neighbors != nullptr && w.neighbors->get(h.nexthop, mac)) {
      uint8_t* const frame = rte_pktmbuf_mtod(h.m, uint8_t*);
      std::memcpy(frame, mac, 6);
      std::memcpy(frame + 6, w.l4.port_mac[h.port].addr_bytes, 6);
      w.counters.released.add(1);
      w.counters.forwarded[static_cast<int>(h.kind)].add(1);
      send_one(w, h.port, h.m);
    } else if (now - h.since > w.hold_ticks) {
      w.counters.dropped[static_cast<int>(nf::DropReason::kNeighborUnresolved)].add(1);
      rte_pktmbuf_free(h.m);
    } else {
      w.held[keep++] = h;
    }
  }
  w.n_held = keep;
}

void drop_held(WorkerContext& w) {
  for (unsigned i = 0; i < w.n_held; ++i) {
    w.counters.dropped[static_cast<int>(nf::DropReason::kNeighborUnresolved)].add(1);
    rte_pktmbuf_free(w.held[i].m);
  }
  w.n_held = 0;
}

unsigned drain_handoffs(WorkerContext& w, const Snapshot& snap) {
  if (w.handoff_rx == nullptr) return 0;
  rte_mbuf* pkts[kBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(w.handoff_rx, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  if (n == 0) return 0;
  w.counters.handoffs_in.add(n);
  // Runs of frames from the same uplink go through one burst each.
  unsigned i = 0;
  while (i < n) {
    unsigned p = 0;
    while (p < w.n_ports && w.ports[p].uplink != pkts[i]->port) ++p;
    unsigned j = i + 1;
    while (j < n && pkts[j]->port == pkts[i]->port) ++j;
    if (p == w.n_ports) {
      w.counters.dropped[static_cast<int>(nf::DropReason::kNoRoom)].add(j - i);
      rte_pktmbuf_free_bulk(pkts + i, j - i);
    } else {
      handle_burst(w, snap, p, pkts + i, static_cast<uint16_t>(j - i), true);
    }
    i = j;
  }
  return n;
}

unsigned poll_once(WorkerContext& w) {
  const Snapshot* snap = w.snapshots->current();
  unsigned handled = 0;
  rte_mbuf* pkts[kBurst];
  const auto tx_full = static_cast<int>(nf::DropReason::kTxFull);

  for (unsigned p = 0; p < w.n_ports; ++p) {
    const uint16_t n = timed_rx_burst(w.ports[p].uplink, w.queue, pkts, kBurst);
    if (n == 0) continue;
    w.counters.rx.add(n);
    handle_uplink_burst(w, *snap, p, pkts, n);
    handled += n;
  }

  // The taps carry the node's own traffic (ARP, BGP, ssh): little, and reading one costs a
  // system call. While uplink traffic keeps the worker busy they are read every
  // kTapPollEvery-th loop only (and every loop while they have something or uplinks are idle).
  const bool read_taps = handled == 0 || w.tap_backlog || ++w.tap_skip >= kTapPollEvery;
  if (read_taps) {
    w.tap_skip = 0;
    w.tap_backlog = false;
  }
  for (unsigned p = 0; read_taps && p < w.n_ports; ++p) {
    const uint16_t n = timed_rx_burst(w.ports[p].tap, w.queue, pkts, kBurst);
    if (n == kBurst) w.tap_backlog = true;
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

  handled += drain_handoffs(w, *snap);
  if (w.n_held != 0) release_held(w, rte_rdtsc());
  if (w.conns != nullptr) {
    if (w.l7 != nullptr) {
      MbufSink sink(w);
      w.l4.sink = &sink;
      w.l4.now = rte_rdtsc();
      w.l4.l7_tables = &snap->l7;
      w.l4.tables = &snap->lb;
      nf::l7::sweep(w.l4, w.l7_sweep_budget);
      w.l4.sink = nullptr;
      if (w.n_extra != 0) flush_extra(w);
      publish_l7_counters(w);
    }
    const uint32_t freed = w.conns->expire(rte_rdtsc(), w.expire_budget);
    if (freed != 0) w.counters.expired.add(freed);
    w.counters.conns.set(w.conns->size());
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
  // One TSC read per iteration: each iteration's time runs from the end of the previous one,
  // so busy + idle cycles add up to the whole loop (the quiescent report included).
  uint64_t mark = rte_rdtsc();
  while (!w.stop->load(std::memory_order_relaxed)) {
    t_driver_cycles = 0;
    const unsigned handled = poll_once(w);
    const uint64_t now = rte_rdtsc();
    if (handled != 0) {
      w.counters.busy_cycles.add(now - mark);
      w.counters.driver_cycles.add(t_driver_cycles);
    } else {
      w.counters.idle_cycles.add(now - mark);
    }
    mark = now;
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
    const uint64_t woke = rte_rdtsc();  // the sleep is idle time, whatever the next loop does
    w.counters.idle_cycles.add(woke - mark);
    mark = woke;
    sleep_us = sleep_us * 2 > w.idle_sleep_us ? w.idle_sleep_us : sleep_us * 2;
  }

  drop_held(w);
  rte_rcu_qsbr_thread_offline(qsbr, w.thread_id);
  rte_rcu_qsbr_thread_unregister(qsbr, w.thread_id);
  return 0;
}

}  // namespace lcore
