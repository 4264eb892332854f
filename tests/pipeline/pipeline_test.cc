// Pipeline tests: the real worker loop under EAL (--no-huge), on ring-backed ports.
//
// Each test builds a WorkerContext over two ring ports standing in for the uplink NIC and the
// kernel tap, puts frames on the rings the worker receives from, runs poll_once (or the real
// worker_main on a second lcore), and reads what came out of the rings it transmits to.
// Frames are made with tests/common/packet_builder.h; Snapshots either by hand or compiled from
// YAML through the same path `portico run` takes (config::load -> plan -> build_snapshot).
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/loader.h"
#include "control/plan.h"
#include "control/snapshot_builder.h"
#include "lcore/port.h"
#include "lcore/snapshot.h"
#include "lcore/worker.h"
#include "tests/common/packet_builder.h"

namespace {

using namespace pkt;

const Mac kClient = mac("02:00:00:00:00:02");
const Ip4 kClientIp = ip4("198.51.100.2");
const Ip6 kClientIp6 = ip6("2001:db8:100::2");
const Ip4 kVip = ip4("203.0.113.10");
const Ip4 kNode = ip4("198.51.100.10");

rte_mempool* g_pool = nullptr;

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* argv[] = {"pipeline_test", "-l",          "0-1",
                          "--no-huge",     "-m",          "256",
                          "--no-pci",      "--no-shconf", "--log-level=*:warning"};
    ASSERT_GE(rte_eal_init(static_cast<int>(std::size(argv)), const_cast<char**>(argv)), 0);
    g_pool = rte_pktmbuf_pool_create("pipeline", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(g_pool, nullptr);
  }
  void TearDown() override { rte_eal_cleanup(); }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

// Two ring ports: `uplink` and `tap`. A port receives what is enqueued on its rx ring and
// transmits onto its tx ring.
struct RingPort {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  uint16_t port = 0;
};

RingPort make_port(const std::string& name) {
  static int seq = 0;
  RingPort p;
  const std::string id = name + std::to_string(seq++);
  p.rx = rte_ring_create((id + "_rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.tx = rte_ring_create((id + "_tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  EXPECT_NE(p.rx, nullptr);
  EXPECT_NE(p.tx, nullptr);
  const int port = rte_eth_from_rings(id.c_str(), &p.rx, 1, &p.tx, 1, 0);
  EXPECT_GE(port, 0);
  p.port = static_cast<uint16_t>(port);
  lcore::start_port(p.port, {1, 1500, g_pool, false});
  return p;
}

std::unique_ptr<lcore::Snapshot> vip_snapshot(bool with_vip) {
  auto s = std::make_unique<lcore::Snapshot>();
  if (with_vip) s->addresses.add_v4(kVip.be(), {nf::kAddrVip, 1});
  s->addresses.add_v4(kNode.be(), {nf::kAddrNode, 0});
  s->addresses.finalize();
  return s;
}

class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    uplink_ = make_port("up");
    tap_ = make_port("tap");
    control_ = rte_ring_create(("ctl" + std::to_string(uplink_.port)).c_str(), 64, 0,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(control_, nullptr);
    publisher_ = std::make_unique<lcore::SnapshotPublisher>(1);
    publisher_->publish(vip_snapshot(true));
    w_.n_ports = 1;
    w_.ports[0].uplink = uplink_.port;
    w_.ports[0].tap = tap_.port;
    w_.ports[0].ctx.mac = lcore::port_mac(uplink_.port);
    w_.ports[0].ctx.index = 0;
    w_.snapshots = publisher_.get();
    w_.control_tx = control_;
    w_.stop = &stop_;
    port_mac_ = Mac{};
    std::memcpy(port_mac_.bytes.data(), w_.ports[0].ctx.mac.addr_bytes, 6);
  }
  void TearDown() override {
    for (uint16_t p : {uplink_.port, tap_.port}) lcore::close_port(p);
    for (rte_ring* r : {uplink_.rx, uplink_.tx, tap_.rx, tap_.tx, control_}) {
      drain(r);
      rte_ring_free(r);
    }
  }

  static rte_mbuf* mbuf_of(const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    return m;
  }
  static void put(rte_ring* r, const Bytes& frame) {
    ASSERT_EQ(rte_ring_sp_enqueue(r, mbuf_of(frame)), 0);
  }
  // Everything on a ring, as byte vectors (mbufs freed).
  static std::vector<Bytes> drain(rte_ring* r) {
    std::vector<Bytes> out;
    void* obj = nullptr;
    while (rte_ring_sc_dequeue(r, &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
      out.emplace_back(d, d + m->data_len);
      rte_pktmbuf_free(m);
    }
    return out;
  }
  uint64_t dropped(nf::DropReason r) const {
    return w_.counters.dropped[static_cast<int>(r)].get();
  }

  RingPort uplink_, tap_;
  rte_ring* control_ = nullptr;
  std::unique_ptr<lcore::SnapshotPublisher> publisher_;
  std::atomic<bool> stop_{false};
  lcore::WorkerContext w_;
  Mac port_mac_;
};

TEST_F(Pipeline, ArpRequestForVipIsAnsweredOnTheUplink) {
  put(uplink_.rx, Frame::eth(kBroadcastMac, kClient).arp_request(kClient, kClientIp, kVip).bytes());
  EXPECT_EQ(lcore::poll_once(w_), 1u);
  const auto out = drain(uplink_.tx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(drain(tap_.tx).empty());
  const auto eth = parse_eth(out[0]);
  const auto arp = parse_arp(out[0]);
  ASSERT_TRUE(eth && arp);
  EXPECT_EQ(eth->dst, kClient);
  EXPECT_EQ(eth->src, port_mac_);
  EXPECT_EQ(arp->op, 2);
  EXPECT_EQ(arp->sha, port_mac_);
  EXPECT_EQ(arp->spa, kVip);
  EXPECT_EQ(arp->tha, kClient);
  EXPECT_EQ(arp->tpa, kClientIp);
  EXPECT_EQ(w_.counters.rx.get(), 1u);
  EXPECT_EQ(w_.counters.tx.get(), 1u);
  EXPECT_EQ(w_.counters.replies[static_cast<int>(nf::ReplyKind::kArpReply)].get(), 1u);
}

TEST_F(Pipeline, ArpForTheNodeAddressIsPuntedToTheTapUnchanged) {
  const Bytes req =
      Frame::eth(kBroadcastMac, kClient).arp_request(kClient, kClientIp, kNode).bytes();
  put(uplink_.rx, req);
  lcore::poll_once(w_);
  EXPECT_TRUE(drain(uplink_.tx).empty());
  const auto punted = drain(tap_.tx);
  ASSERT_EQ(punted.size(), 1u);
  EXPECT_EQ(punted[0], req);
  EXPECT_EQ(w_.counters.punted.get(), 1u);
}

TEST_F(Pipeline, WhatTheKernelSendsGoesOutTheUplink) {
  const Bytes reply =
      Frame::eth(kClient, port_mac_).arp_reply(port_mac_, kNode, kClient, kClientIp).bytes();
  put(tap_.rx, reply);
  lcore::poll_once(w_);
  const auto out = drain(uplink_.tx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], reply);
  EXPECT_EQ(w_.counters.from_kernel.get(), 1u);
}

TEST_F(Pipeline, ControlRingFramesAreSentOnTheNamedPort) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  const uint16_t len = nf::build_gratuitous_arp(rte_pktmbuf_mtod(m, uint8_t*),
                                                static_cast<uint16_t>(rte_pktmbuf_tailroom(m)),
                                                w_.ports[0].ctx.mac, kVip.be(), false);
  ASSERT_GT(len, 0);
  m->data_len = m->pkt_len = len;
  m->port = 0;
  ASSERT_EQ(rte_ring_sp_enqueue(control_, m), 0);
  lcore::poll_once(w_);
  const auto out = drain(uplink_.tx);
  ASSERT_EQ(out.size(), 1u);
  const auto arp = parse_arp(out[0]);
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->spa, kVip);
  EXPECT_EQ(arp->tpa, kVip);
  EXPECT_EQ(w_.counters.announced.get(), 1u);
}

TEST_F(Pipeline, MalformedFramesAreCountedAndFreed) {
  const unsigned free_before = rte_mempool_avail_count(g_pool);
  put(uplink_.rx, Frame::eth(kBroadcastMac, kClient)
                      .arp_request(kClient, kClientIp, kVip)
                      .truncate(30)
                      .bytes());
  put(uplink_.rx,
      Frame::eth(port_mac_, kClient).ipv4(kClientIp, kVip).ihl(3).icmp_echo(1, 1).bytes());
  put(uplink_.rx, Frame::eth(port_mac_, kClient)
                      .ipv4(kClientIp, kVip)
                      .bad_ip_checksum()
                      .icmp_echo(1, 1)
                      .bytes());
  lcore::poll_once(w_);
  EXPECT_TRUE(drain(uplink_.tx).empty());
  EXPECT_TRUE(drain(tap_.tx).empty());
  EXPECT_EQ(dropped(nf::DropReason::kArpMalformed), 1u);
  EXPECT_EQ(dropped(nf::DropReason::kIpv4Malformed), 1u);
  EXPECT_EQ(dropped(nf::DropReason::kIpv4BadChecksum), 1u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), free_before);  // nothing leaked
}

TEST_F(Pipeline, EchoToVipIsAnswered) {
  put(uplink_.rx, Frame::eth(port_mac_, kClient)
                      .ipv4(kClientIp, kVip)
                      .icmp_echo(7, 3, text("portico"))
                      .bytes());
  lcore::poll_once(w_);
  const auto out = drain(uplink_.tx);
  ASSERT_EQ(out.size(), 1u);
  const auto ip = parse_ipv4(out[0]);
  const auto icmp = parse_icmp(out[0]);
  ASSERT_TRUE(ip && icmp);
  EXPECT_EQ(ip->src, kVip);
  EXPECT_EQ(ip->dst, kClientIp);
  EXPECT_TRUE(ip->checksum_ok);
  EXPECT_EQ(icmp->type, 0);
  EXPECT_TRUE(icmp->checksum_ok);
  EXPECT_EQ(icmp->id, 7);
  EXPECT_EQ(icmp->seq, 3);
}

TEST_F(Pipeline, RepublishedSnapshotStopsAnsweringARemovedVip) {
  const Bytes req =
      Frame::eth(kBroadcastMac, kClient).arp_request(kClient, kClientIp, kVip).bytes();
  publisher_->publish(vip_snapshot(false));
  put(uplink_.rx, req);
  lcore::poll_once(w_);
  EXPECT_TRUE(drain(uplink_.tx).empty());
  EXPECT_EQ(drain(tap_.tx).size(), 1u);  // no longer ours: the kernel may have it
}

// The YAML -> IPAM -> plan -> Snapshot path of `portico run`, then packets.
TEST_F(Pipeline, CompiledFromTheDemoConfig) {
  auto loaded = config::load({std::string(PORTICO_SOURCE_ROOT) + "/config/examples/demo.yaml"});
  ASSERT_TRUE(loaded.ok());
  const auto& node = loaded.objects.node_configs.at(0);
  const control::Plan plan = control::make_plan(loaded.objects, &node, {});
  publisher_->publish(control::build_snapshot(plan, node, 2));

  // 203.0.113.11 is demo/web's; 203.0.113.40 is in the pool but nobody holds it.
  put(uplink_.rx, Frame::eth(kBroadcastMac, kClient)
                      .arp_request(kClient, kClientIp, ip4("203.0.113.11"))
                      .bytes());
  put(uplink_.rx, Frame::eth(kBroadcastMac, kClient)
                      .arp_request(kClient, kClientIp, ip4("203.0.113.40"))
                      .bytes());
  put(uplink_.rx, Frame::eth(multicast_mac(solicited_node(ip6("2001:db8:200::10"))), kClient)
                      .ipv6(kClientIp6, solicited_node(ip6("2001:db8:200::10")), 255)
                      .ndp_ns(ip6("2001:db8:200::10"), kClient)
                      .bytes());
  put(uplink_.rx,
      Frame::eth(port_mac_, kClient).ipv4(kClientIp, ip4("198.51.100.11")).icmp_echo(1, 1).bytes());
  lcore::poll_once(w_);
  const auto out = drain(uplink_.tx);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(parse_arp(out[0])->spa, ip4("203.0.113.11"));
  const auto na = parse_nd(out[1]);
  ASSERT_TRUE(na);
  EXPECT_EQ(na->type, 136);
  EXPECT_EQ(parse_icmp(out[2])->type, 0);  // the SNAT address answers ping
  const auto punted = drain(tap_.tx);
  ASSERT_EQ(punted.size(), 1u);
  EXPECT_EQ(parse_arp(punted[0])->tpa, ip4("203.0.113.40"));
}

// The real worker_main on lcore 1: answers, survives republishing, stops on request.
TEST_F(Pipeline, LaunchedWorkerAnswersAcrossPublishes) {
  const unsigned lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
  ASSERT_LT(lcore, RTE_MAX_LCORE) << "the test needs two lcores";
  w_.idle_sleep_us = 50;
  ASSERT_EQ(rte_eal_remote_launch(lcore::worker_main, &w_, lcore), 0);
  const Bytes req =
      Frame::eth(kBroadcastMac, kClient).arp_request(kClient, kClientIp, kVip).bytes();
  size_t answered = 0, punted = 0;
  for (int round = 0; round < 20; ++round) {
    publisher_->publish(vip_snapshot(round % 2 == 0));  // waits for the worker's quiescence
    put(uplink_.rx, req);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    size_t got = 0;
    while (got == 0 && std::chrono::steady_clock::now() < deadline) {
      const size_t a = drain(uplink_.tx).size();
      const size_t p = drain(tap_.tx).size();
      answered += a;
      punted += p;
      got = a + p;
      if (got == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(got, 1u) << "round " << round;
  }
  stop_.store(true);
  EXPECT_EQ(rte_eal_wait_lcore(lcore), 0);
  EXPECT_EQ(answered, 10u);
  EXPECT_EQ(punted, 10u);
}

}  // namespace
