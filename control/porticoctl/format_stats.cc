// porticoctl: text of the data-plane and speaker commands (stats, top, flows, bgp, events,
// drain). Counter names are the server's ("rx", "tx", "drop.<reason>"...): totals print every
// counter the server sent, drops apart and only when non-zero.
#include <google/protobuf/util/json_util.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>

#include "control/porticoctl/format.h"

namespace porticoctl {

namespace pb = portico::v1;

namespace {

constexpr std::string_view kDropPrefix = "drop.";

bool is_drop(const std::string& name) { return name.rfind(kDropPrefix, 0) == 0; }

std::string u64(uint64_t v) { return std::to_string(v); }

// The value of counter `name`, or nullopt when the server did not send it.
std::optional<uint64_t> counter(const google::protobuf::RepeatedPtrField<pb::Counter>& cs,
                                const std::string& name) {
  for (const auto& c : cs)
    if (c.name() == name) return c.value();
  return std::nullopt;
}

uint64_t drops_of(const google::protobuf::RepeatedPtrField<pb::Counter>& cs) {
  uint64_t sum = 0;
  for (const auto& c : cs)
    if (is_drop(c.name())) sum += c.value();
  return sum;
}

std::string opt(std::optional<uint64_t> v) { return v ? u64(*v) : "-"; }

// A rate with an SI suffix: "950", "12.3k", "1.50M", "2.00G".
std::string si(double v) {
  char buf[320];  // %.0f of the largest double
  const char* suffix = "";
  if (v >= 1e9) {
    v /= 1e9;
    suffix = "G";
  } else if (v >= 1e6) {
    v /= 1e6;
    suffix = "M";
  } else if (v >= 1e3) {
    v /= 1e3;
    suffix = "k";
  }
  if (*suffix == 0)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.2f%s" : (v < 100 ? "%.1f%s" : "%.0f%s"), v,
                  suffix);
  return buf;
}

// after - before for a counter, as a per-second rate; a counter that went back (the process
// restarted between the calls) counts from zero.
double rate(uint64_t before, uint64_t after, double seconds) {
  uint64_t d = after >= before ? after - before : after;
  return static_cast<double>(d) / seconds;
}

void traffic_row(std::vector<std::string>& row, const pb::TrafficCounters& t) {
  row.insert(row.end(), {u64(t.packets()), u64(t.bytes()), u64(t.connections())});
}

}  // namespace

std::string format_busy_percent(uint64_t busy, uint64_t idle) {
  if (busy + idle == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%",
                100.0 * static_cast<double>(busy) / static_cast<double>(busy + idle));
  return buf;
}

std::string rfc3339_ms(uint64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler imagines in tm
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string format_stats(const pb::Stats& s) {
  std::string out = "Generation:   " + u64(s.generation()) + "\n";
  std::string reload = s.last_reload().empty() ? "<none>" : s.last_reload();
  if (s.last_reload_unix() != 0) {
    std::string t = rfc3339_ms(s.last_reload_unix() * 1000);
    reload += " at " + t.substr(0, t.size() - 5) + "Z";  // whole seconds
  }
  out += "Last reload:  " + reload + "\n";

  Table totals({"COUNTER", "VALUE"});
  Table drops({"DROP REASON", "PACKETS"});
  for (const auto& c : s.totals()) {
    if (!is_drop(c.name()))
      totals.add({c.name(), u64(c.value())});
    else if (c.value() != 0)
      drops.add({c.name().substr(kDropPrefix.size()), u64(c.value())});
  }
  out += "\n" + (totals.empty() ? std::string("No counters.\n") : totals.render());
  out += "\n" + (drops.empty() ? std::string("No drops.\n") : drops.render());

  if (!s.lcores().empty()) {
    Table lcores({"LCORE", "BUSY", "RX", "TX", "DROPS"});
    for (const auto& l : s.lcores())
      lcores.add({u64(l.lcore()), format_busy_percent(l.busy_cycles(), l.idle_cycles()),
                  opt(counter(l.counters(), "rx")), opt(counter(l.counters(), "tx")),
                  u64(drops_of(l.counters()))});
    out += "\n" + lcores.render();
  }
  if (!s.vips().empty()) {
    Table vips({"VIP", "PACKETS", "BYTES", "CONNECTIONS"});
    for (const auto& v : s.vips()) {
      std::vector<std::string> row{v.address()};
      traffic_row(row, v.traffic());
      vips.add(std::move(row));
    }
    out += "\n" + vips.render();
  }
  if (!s.services().empty()) {
    Table services({"SERVICE", "ADDRESS", "PORT", "PACKETS", "BYTES", "CONNECTIONS"});
    for (const auto& v : s.services()) {
      std::vector<std::string> row{v.service(), v.address(),
                                   u64(v.port()) + "/" + v.protocol()};
      traffic_row(row, v.traffic());
      services.add(std::move(row));
    }
    out += "\n" + services.render();
  }
  if (!s.backends().empty()) {
    Table backends(
        {"SERVICE", "VIP", "PORT", "BACKEND", "PACKETS", "BYTES", "CONNECTIONS", "DRAINING"});
    for (const auto& v : s.backends()) {
      std::vector<std::string> row{v.service(), v.address(), u64(v.port()), v.backend()};
      traffic_row(row, v.traffic());
      row.push_back(v.draining() ? "yes" : "no");
      backends.add(std::move(row));
    }
    out += "\n" + backends.render();
  }
  return out;
}

std::string format_top(const pb::Stats& before, const pb::Stats& after, double wall_seconds) {
  // The data plane's own interval: the largest advance of an lcore's busy + idle cycles.
  double seconds = wall_seconds;
  std::string clock = "wall clock";
  if (after.tsc_hz() != 0) {
    uint64_t cycles = 0;
    for (const auto& a : after.lcores())
      for (const auto& b : before.lcores())
        if (a.lcore() == b.lcore()) {
          uint64_t ta = a.busy_cycles() + a.idle_cycles(), tb = b.busy_cycles() + b.idle_cycles();
          if (ta > tb) cycles = std::max(cycles, ta - tb);
        }
    if (cycles != 0) {
      seconds = static_cast<double>(cycles) / static_cast<double>(after.tsc_hz());
      clock = "lcore cycles";
    }
  }
  char head[160];
  std::snprintf(head, sizeof head, "porticoctl top   generation %" PRIu64 "   interval %.2f s (%s)\n",
                after.generation(), seconds, clock.c_str());
  std::string out = head;
  if (!(seconds > 0)) return out + "No interval between the two samples.\n";

  auto total_rate = [&](const std::string& name) -> std::string {
    auto a = counter(after.totals(), name);
    if (!a) return "-";
    return si(rate(counter(before.totals(), name).value_or(0), *a, seconds));
  };
  out += "rx " + total_rate("rx") + " pps   tx " + total_rate("tx") + " pps   drops " +
         si(rate(drops_of(before.totals()), drops_of(after.totals()), seconds)) + "/s\n";

  if (!after.lcores().empty()) {
    Table lcores({"LCORE", "BUSY", "RX/S", "TX/S", "DROPS/S"});
    for (const auto& a : after.lcores()) {
      const pb::LcoreStats* b = nullptr;
      for (const auto& x : before.lcores())
        if (x.lcore() == a.lcore()) b = &x;
      static const pb::LcoreStats kEmpty;
      if (b == nullptr) b = &kEmpty;
      auto r = [&](const std::string& name) -> std::string {
        auto va = counter(a.counters(), name);
        if (!va) return "-";
        return si(rate(counter(b->counters(), name).value_or(0), *va, seconds));
      };
      uint64_t busy = a.busy_cycles() >= b->busy_cycles() ? a.busy_cycles() - b->busy_cycles() : 0;
      uint64_t idle = a.idle_cycles() >= b->idle_cycles() ? a.idle_cycles() - b->idle_cycles() : 0;
      lcores.add({u64(a.lcore()), format_busy_percent(busy, idle), r("rx"), r("tx"),
                  si(rate(drops_of(b->counters()), drops_of(a.counters()), seconds))});
    }
    out += "\n" + lcores.render();
  }
  if (!after.vips().empty()) {
    Table vips({"VIP", "PPS", "BITS/S", "CONN/S"});
    for (const auto& a : after.vips()) {
      pb::TrafficCounters b;
      for (const auto& x : before.vips())
        if (x.address() == a.address()) b = x.traffic();
      const pb::TrafficCounters& t = a.traffic();
      vips.add({a.address(), si(rate(b.packets(), t.packets(), seconds)),
                si(8 * rate(b.bytes(), t.bytes(), seconds)),
                si(rate(b.connections(), t.connections(), seconds))});
    }
    out += "\n" + vips.render();
  }
  return out;
}

std::string format_flows(const pb::FlowsResponse& r) {
  if (r.flows().empty()) return "No flows.\n";
  Table t({"LCORE", "PROTO", "CLIENT", "VIP", "BACKEND", "SNAT", "STATE", "IDLE"});
  for (const auto& f : r.flows()) {
    char idle[32];
    std::snprintf(idle, sizeof idle, "%.1fs", static_cast<double>(f.idle_ms()) / 1000.0);
    t.add({u64(f.lcore()), f.protocol(), f.client(), f.vip(), f.backend(),
           f.snat().empty() ? "-" : f.snat(), f.state(), idle});
  }
  std::string out = t.render();
  if (r.truncated()) out += "(more flows match: raise --limit, at most 10000)\n";
  return out;
}

std::string age_text(uint64_t since_unix, uint64_t now_unix) {
  const uint64_t s = now_unix > since_unix ? now_unix - since_unix : 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 8 * 3600) {
    const uint64_t m = s / 60 % 60;
    return std::to_string(s / 3600) + "h" + (m != 0 ? std::to_string(m) + "m" : "");
  }
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string format_bgp_peers(const pb::BgpPeersResponse& r, uint64_t now_unix) {
  if (r.peers().empty()) return "No BGP peers.\n";
  Table t({"NAME", "ADDRESS", "AS", "STATE", "SINCE", "ESTABLISHED", "PREFIXES-SENT",
           "PREFIXES-RECEIVED", "LAST-ERROR"});
  for (const auto& p : r.peers()) {
    // The last error stays after the session recovers; its age tells an old flap from a
    // session that is failing now.
    std::string error = p.last_error().empty() ? "-" : p.last_error();
    if (!p.last_error().empty() && p.last_error_unix() != 0)
      error += " (" + age_text(p.last_error_unix(), now_unix) + " ago)";
    t.add({p.name(), p.address(), u64(p.peer_asn()), p.state(),
           p.state_since_unix() == 0 ? "-" : age_text(p.state_since_unix(), now_unix),
           u64(p.established_transitions()), u64(static_cast<uint64_t>(p.routes_size())),
           u64(p.prefixes_received()), error});
  }
  return t.render();
}

std::string format_bgp_routes(const pb::BgpPeersResponse& r) {
  if (r.peers().empty()) return "No BGP peers.\n";
  Table t({"PEER", "PREFIX", "COMMUNITIES", "LOCAL-PREF"});
  for (const auto& p : r.peers()) {
    if (p.routes().empty()) t.add({p.name(), "<none>", "", ""});
    for (const auto& route : p.routes()) {
      std::string communities;
      for (const auto& c : route.communities()) communities += (communities.empty() ? "" : ",") + c;
      t.add({p.name(), route.prefix(), communities.empty() ? "-" : communities,
             route.has_local_pref() ? u64(route.local_pref()) : "-"});
    }
  }
  return t.render();
}

std::string format_event(const pb::Event& e) {
  std::string type = e.type();
  if (type.size() < 7) type += std::string(7 - type.size(), ' ');  // "Normal " / "Warning"
  std::string out = rfc3339_ms(e.unix_ms()) + "  " + type + "  " + e.reason() + "  ";
  if (!e.object().empty()) out += e.object() + ": ";
  return out + e.message() + "\n";
}

std::string format_drain(const pb::DrainRequest& req, const pb::DrainResponse& r) {
  std::string what = req.has_node() ? "node" : "backend " + req.backend();
  std::string out = what + (req.undo() ? ": drain ended" : ": draining") + " (generation " +
                    u64(r.generation()) + ")\n";
  if (r.affected().empty()) return out + "  nothing affected\n";
  for (const auto& a : r.affected()) out += "  " + a + "\n";
  return out;
}

std::string message_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
  if (!status.ok()) return "{}\n";
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

}  // namespace porticoctl
