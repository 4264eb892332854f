// Worker lcores: poll-mode, run-to-completion loops over the uplink ports and their taps.
//
// Each worker owns queue `queue` of every uplink port and of every tap port, its counters, and
// a ring on which the control thread hands it frames to send (gratuitous ARP / unsolicited NA).
// One loop iteration (poll_once):
//   1. load the current Snapshot once;
//   2. for each uplink: rx burst -> nf::handle_frame per packet -> replies tx'd on the same
//      port, punts tx'd on the port's tap, drops counted by reason and freed;
//   3. for each tap: rx burst (what the kernel sends) -> tx on the uplink (while the uplinks
//      keep the worker busy, only every kTapPollEvery-th loop: a tap read is a system call);
//   4. drain the control ring -> tx on the named uplink;
//   5. drain the handoff ring: frames of flows this worker owns that another worker received
//      (full-NAT replies: the SNAT port says which worker owns the flow; see docs/architecture.md);
//   6. send the held frames whose next hop's MAC has arrived, drop those that waited too long;
//   7. expire a few connection records (bounded clock-hand sweep);
//   8. report a quiescent state.
// L4 forwards (nf::Action::kForward) go out the interface the verdict names; next hops the data
// plane could not resolve are posted on the resolve ring for the control thread, and the frames
// for them (nf::Action::kHold) wait in a small bounded hold until the MAC is learned, as a
// kernel's neighbor queue would keep them, so the first packet to a new endpoint is not lost.
// After a run of empty polls the worker sleeps (bounded, idle_sleep_us), offline for RCU while
// it does. No allocation, no locks, no syscalls except that sleep, no exceptions, no logging.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include <rte_ether.h>

#include "lcore/snapshot.h"
#include "nf/drop_reason.h"
#include "nf/frame_handler.h"
#include "nf/l7.h"
#include "nf/traffic.h"

struct rte_ring;
struct rte_mempool;
struct rte_mbuf;

namespace lcore {

inline constexpr unsigned kMaxPorts = 8;
inline constexpr unsigned kMaxWorkers = 64;
inline constexpr uint16_t kBurst = 32;
inline constexpr uint32_t kTapPollEvery = 8;  // busy loops between reads of the taps
inline constexpr int kReplyKinds = static_cast<int>(nf::ReplyKind::kCount);
inline constexpr int kForwardKinds = static_cast<int>(nf::ForwardKind::kCount);
inline constexpr int kL7Counters = sizeof(nf::l7::Counters) / sizeof(uint64_t);

// A counter written by one worker, read by the control thread (relaxed, no locked ops): the
// same single-writer counter the traffic tables use (nf/traffic.h).
using Counter = nf::TrafficCounter;

struct alignas(64) WorkerCounters {
  Counter rx;           // frames received on uplinks
  Counter tx;           // frames sent on uplinks (replies, from the kernel, announcements)
  Counter punted;       // frames handed to the kernel tap
  Counter from_kernel;  // frames the kernel sent through a tap
  Counter announced;    // frames sent for the control thread (gratuitous ARP / NA)
  std::array<Counter, nf::kDropReasonCount> dropped;
  std::array<Counter, kReplyKinds> replies;
  std::array<Counter, kForwardKinds> forwarded;  // L4 frames sent on, by kind
  Counter new_flows;                             // connection records created
  Counter stateless_flows;                       // balanced without a record (table full)
  Counter backend_gone;                          // flows whose backend was removed
  Counter handoffs_out;                          // frames passed to the worker owning their flow
  Counter handoffs_in;                           // frames received from other workers
  Counter conns;                                 // gauge: live connection records
  Counter expired;                               // records freed by the expiry sweep
  Counter held;                                  // frames put on hold for a next hop's MAC
  Counter released;                              // held frames sent once the MAC was known
  Counter consumed;                              // frames the L7 path took in
  // TSC cycles of loop iterations that handled frames (cost per packet), and of those that
  // handled nothing, idle sleeps included: busy + idle is the worker's whole time, so
  // busy / (busy + idle) is its load although it polls at 100% CPU.
  Counter busy_cycles;
  Counter idle_cycles;
  // The part of busy_cycles spent inside the port drivers' rx and tx calls. With net_af_packet
  // or net_tap that is the kernel's work (system calls, veth, bridge); with a poll-mode NIC
  // driver it is descriptor reads and writes. busy - driver = Portico's own processing.
  Counter driver_cycles;
  std::array<Counter, kL7Counters> l7;           // nf::l7::Counters, copied once per loop
};

// Plain summed copy of counters, for reporting.
struct CounterTotals {
  uint64_t rx = 0, tx = 0, punted = 0, from_kernel = 0, announced = 0;
  std::array<uint64_t, nf::kDropReasonCount> dropped{};
  std::array<uint64_t, kReplyKinds> replies{};
  std::array<uint64_t, kForwardKinds> forwarded{};
  uint64_t new_flows = 0, stateless_flows = 0, backend_gone = 0, handoffs_out = 0, handoffs_in = 0,
           conns = 0, expired = 0, held = 0, released = 0, consumed = 0,
           busy_cycles = 0, idle_cycles = 0, driver_cycles = 0;
  std::array<uint64_t, kL7Counters> l7{};
  uint64_t dropped_total() const;
  void add(const WorkerCounters& c);
};

struct WorkerPort {
  uint16_t uplink = 0;  // DPDK port id of the NIC / vdev
  uint16_t tap = 0;     // DPDK port id of the exception tap of this uplink
  nf::PortContext ctx;  // MAC and interface index
};

struct WorkerContext {
  // Set up by the runner before launch, constant while running.
  unsigned thread_id = 0;  // RCU reader id, 0..workers-1
  uint16_t queue = 0;      // rx/tx queue index on every port
  unsigned n_ports = 0;
  std::array<WorkerPort, kMaxPorts> ports{};
  const SnapshotPublisher* snapshots = nullptr;
  rte_ring* control_tx = nullptr;  // mbufs to send; mbuf->port holds the interface index
  uint32_t idle_sleep_us = 0;      // 0 = busy poll
  const std::atomic<bool>* stop = nullptr;

  // L4 path (nullptr conns: L2 only, as in the ARP benchmark and L2 pipeline tests).
  nf::ConnTable* conns = nullptr;                   // this worker's, allocated by the runner
  nf::NeighborTable* neighbors = nullptr;           // shared
  rte_ring* handoff_rx = nullptr;                   // frames other workers pass to this one (MP/SC)
  std::array<rte_ring*, kMaxWorkers> handoff_tx{};  // every worker's handoff_rx, by index
  rte_ring* resolve_tx = nullptr;  // next-hop indices for the control thread (MP/SC)
  uint32_t expire_budget = 8;      // records the expiry sweep looks at per loop
  nf::L4Context l4;                // worker index, worker count, port MACs/MTUs, SNAT cursors

  // L7 path (nullptr l7: HTTP listeners are not served). The worker's slots and buffers, the
  // shared cookie secrets, and the pool extra frames (backend SYNs, replays) come from.
  nf::l7::WorkerState* l7 = nullptr;
  const nf::l7::CookieSecrets* secrets = nullptr;
  rte_mempool* pool = nullptr;
  uint32_t l7_sweep_budget = 16;  // L7 slots the timer sweep looks at per loop
  // Frames the L7 path sends besides the one it handles (see MbufSink in worker.cc), sent after
  // each burst and each sweep.
  static constexpr unsigned kExtraCapacity = 64;
  std::array<rte_mbuf*, kExtraCapacity> extra{};
  std::array<uint8_t, kExtraCapacity> extra_port{};
  unsigned n_extra = 0;
  rte_mbuf* extra_pending = nullptr;

  // Frames waiting for their next hop's MAC (nf::Action::kHold), oldest first. At most
  // kHoldPerNexthop for one next hop, so one that never answers cannot take the whole hold.
  struct HeldFrame {
    rte_mbuf* m;
    uint64_t since;  // TSC when it was put on hold
    uint16_t nexthop;
    uint8_t port;
    nf::ForwardKind kind;
  };
  static constexpr unsigned kHoldCapacity = 64;
  static constexpr unsigned kHoldPerNexthop = 8;
  std::array<HeldFrame, kHoldCapacity> held{};
  unsigned n_held = 0;
  uint64_t hold_ticks = 0;  // how long a frame may wait (spec.neighbors.retransmitTime)

  uint32_t tap_skip = 0;     // busy loops since the taps were last read
  bool tap_backlog = false;  // the last read of a tap filled a whole burst

  WorkerCounters counters;
  // Packets, bytes and connections per service port and backend (nf/traffic.h), written by the
  // L4 and L7 paths, summed by control/traffic_stats.h. Allocated by init_l4().
  std::unique_ptr<nf::TrafficTable> traffic;
};

// Fills w.l4's constant part from the context (call after ports, conns and neighbors are set)
// and allocates the worker's traffic counters (w.traffic); frames wait for a next hop's MAC for
// one second unless hold_ticks is set afterwards. Control thread, before the worker runs.
void init_l4(WorkerContext& w, unsigned worker, unsigned workers, uint64_t tsc_hz);

// Sends the held frames whose next hop is resolved now, drops (counted) those held longer than
// hold_ticks at `now`, keeps the rest. drop_held() drops them all (a worker that stops).
void release_held(WorkerContext& w, uint64_t now);
void drop_held(WorkerContext& w);

// One iteration; returns the number of frames handled. Exposed for pipeline tests and
// benchmarks, which drive a worker without launching it on an lcore.
unsigned poll_once(WorkerContext& w);

// Per-packet part of one uplink burst (no rx): classify `pkts`, send replies and punts, free
// drops. The benchmark calls this on prepared mbufs.
void handle_uplink_burst(WorkerContext& w, const Snapshot& snap, unsigned port_index,
                         struct rte_mbuf** pkts, uint16_t n);

// Frames from the handoff ring (already counted as rx by the worker that received them).
unsigned drain_handoffs(WorkerContext& w, const Snapshot& snap);

// lcore entry point (rte_eal_remote_launch); arg is a WorkerContext*.
int worker_main(void* arg);

}  // namespace lcore
