// ListFlows' scan of one worker's connection table (control/api/control.cc scan_flows): the
// time a porticoctl flows call costs per worker, by table size and live records, for the three
// shapes of question: no filter (stops at --limit), a filter nothing matches (reads every slot),
// and a filter that matches a few. Cycles by rdtsc, converted with the TSC rate measured here.
//
//   build/portico-flows-bench [--capacity 262144] [--live 10000] [--rounds 20]
//
// Results and the machine: docs/performance.md ("ListFlows").
#include <arpa/inet.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "control/api/control.h"

namespace {

double tsc_hz() {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t c1 = __rdtsc();
  const auto t1 = std::chrono::steady_clock::now();
  return static_cast<double>(c1 - c0) / std::chrono::duration<double>(t1 - t0).count();
}

nf::Conn flow(uint32_t i) {
  nf::Conn c;
  c.proto = 6;
  c.v6 = 0;
  c.state = nf::ConnState::kTcpEstablished;
  c.mode = static_cast<uint8_t>(nf::lb::Mode::kNat);
  // client 198.51.100.2-249 : port, VIP 203.0.113.20:80, backend 198.51.100.21-28:8080.
  const uint32_t client = htonl(0xc6336402u + i % 248), vip = htonl(0xcb007114u);
  const uint32_t backend = htonl(0xc6336415u + i % 8), snat = htonl(0xc633640bu);
  c.set_side(nf::ConnDir::kOrig, reinterpret_cast<const uint8_t*>(&client),
             reinterpret_cast<const uint8_t*>(&vip), htons(static_cast<uint16_t>(1024 + i % 60000)),
             htons(80));
  c.set_side(nf::ConnDir::kReply, reinterpret_cast<const uint8_t*>(&backend),
             reinterpret_cast<const uint8_t*>(&snat), htons(8080),
             htons(static_cast<uint16_t>(1024 + i % 60000)));
  c.last_seen = 1;
  return c;
}

control::api::FlowQuery::Filter filter(const char* addr) {
  control::api::FlowQuery::Filter f;
  f.set = true;
  f.address = *config::IpAddress::parse(addr);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t capacity = 262144, live = 10000, rounds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const uint32_t v = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    if (a == "--capacity") capacity = v;
    else if (a == "--live") live = v;
    else if (a == "--rounds") rounds = v;
    else {
      std::fprintf(stderr, "usage: portico-flows-bench [--capacity N] [--live N] [--rounds N]\n");
      return 2;
    }
  }
  if (argc % 2 == 0 || capacity == 0 || live > capacity || rounds == 0) {
    std::fprintf(stderr, "usage: portico-flows-bench [--capacity N] [--live N] [--rounds N]\n");
    return 2;
  }
  // Live records at random slots, as a table looks after churn.
  std::vector<nf::Conn> table(capacity);
  std::vector<uint32_t> slots(capacity);
  for (uint32_t i = 0; i < capacity; ++i) slots[i] = i;
  std::mt19937 rng(7);
  std::shuffle(slots.begin(), slots.end(), rng);
  for (uint32_t i = 0; i < live; ++i) table[slots[i]] = flow(i);
  // Another buffer the size of the table, read between rounds, so that each scan starts with
  // the table out of this core's caches (as a worker's table is).
  std::vector<uint8_t> evict(static_cast<size_t>(capacity) * sizeof(nf::Conn));
  const double hz = tsc_hz();
  struct Shape {
    const char* name;
    control::api::FlowQuery q;
  };
  std::vector<Shape> shapes(3);
  shapes[0].name = "no filter, limit 100";
  shapes[1].name = "client filter, no match";
  shapes[1].q.client = filter("198.51.100.250");
  shapes[2].name = "backend filter, 1/8 match, limit 100";
  shapes[2].q.backend = filter("198.51.100.21");
  std::printf("capacity %u records (%.1f MiB), %u live, %u rounds, TSC %.3f GHz\n", capacity,
              static_cast<double>(capacity) * sizeof(nf::Conn) / (1 << 20), live, rounds,
              hz / 1e9);
  for (auto& s : shapes) {
    s.q.limit = 100;
    std::vector<uint64_t> cycles;
    control::api::FlowScanCost cost;
    size_t listed = 0;
    for (uint32_t r = 0; r < rounds; ++r) {
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < evict.size(); i += 64) sink = sink + ++evict[i];
      portico::v1::FlowsResponse resp;
      control::api::FlowScanCost one;
      const uint64_t t0 = __rdtsc();
      control::api::scan_flows(table.data(), capacity, 1, s.q, &resp, &one);
      cycles.push_back(__rdtsc() - t0);
      cost = one;
      listed = static_cast<size_t>(resp.flows_size());
    }
    std::sort(cycles.begin(), cycles.end());
    const double med = static_cast<double>(cycles[cycles.size() / 2]);
    std::printf("%-38s median %8.2f ms  (%6.1f cycles/slot)  slots read %lu, copied %lu, listed %zu\n",
                s.name, med / hz * 1e3, med / static_cast<double>(std::max<uint64_t>(cost.slots, 1)),
                static_cast<unsigned long>(cost.slots), static_cast<unsigned long>(cost.copied), listed);
  }
  return 0;
}
