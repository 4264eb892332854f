// Leader election with a Lease (see lease.h for the algorithm and the threads).
#include "control/k8s/lease.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>
#include <thread>

namespace control::k8s {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

namespace {

constexpr int kReleaseAttempts = 5;

class SystemClock final : public Clock {
 public:
  steady_clock::time_point now() override { return steady_clock::now(); }
  system_clock::time_point wall() override { return system_clock::now(); }
  void sleep(milliseconds d, const std::atomic<bool>* stop) override {
    const auto end = steady_clock::now() + d;
    while (!(stop && stop->load())) {
      const auto left = end - steady_clock::now();
      if (left <= steady_clock::duration::zero()) return;
      std::this_thread::sleep_for(std::min<steady_clock::duration>(left, milliseconds(100)));
    }
  }
};

std::string format(system_clock::time_point t, bool micro) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  const std::time_t secs =
      static_cast<std::time_t>(std::chrono::floor<std::chrono::seconds>(us).count());
  const long frac = static_cast<long>(us.count() - static_cast<int64_t>(secs) * 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (micro) {
    char f[24];
    std::snprintf(f, sizeof f, ".%06ld", frac);
    out += f;
  }
  return out + "Z";
}

}  // namespace

Clock* Clock::system() {
  static SystemClock clock;
  return &clock;
}

bool is_dns_name(const std::string& s, bool subdomain) {
  if (s.empty() || s.size() > (subdomain ? 253u : 63u)) return false;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (subdomain && c == '.');
    if (!ok) return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back()));
}

std::string format_micro_time(system_clock::time_point t) { return format(t, true); }
std::string format_time(system_clock::time_point t) { return format(t, false); }

std::string api_error(const std::string& method, const std::string& path, const Response& r) {
  std::string out = method + " " + path + ": ";
  if (r.status == 0) return out + (r.error.empty() ? "no response" : r.error);
  out += std::to_string(r.status);
  // A Status body says why in `reason` and `message`; anything else (a proxy's HTML page) is
  // not worth quoting.
  const json body = json::parse(r.body, nullptr, false);
  if (body.is_object()) {
    if (auto it = body.find("reason"); it != body.end() && it->is_string())
      out += " " + it->get<std::string>();
    if (auto it = body.find("message"); it != body.end() && it->is_string()) {
      std::string m = it->get<std::string>();
      if (m.size() > 300) m = m.substr(0, 300) + "...";
      out += ": " + m;
    }
  }
  return out;
}

std::string validate(const LeaseConfig& c) {
  if (!is_dns_name(c.namespace_, false))
    return "lease namespace \"" + c.namespace_ + "\" is not a valid namespace name";
  if (!is_dns_name(c.name, true)) return "lease name \"" + c.name + "\" is not a valid name";
  if (c.identity.empty()) return "lease identity is empty (it must name this node uniquely)";
  if (c.identity.size() > 253 || std::any_of(c.identity.begin(), c.identity.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20;
      }))
    return "lease identity is longer than 253 characters or holds control characters";
  if (c.duration < std::chrono::seconds(1))
    return "lease duration must be at least 1s (leaseDurationSeconds is whole seconds)";
  if (c.retry_period <= milliseconds(0)) return "lease retry period must be positive";
  if (c.duration <= c.renew_deadline)
    return "lease duration (" + std::to_string(c.duration.count()) +
           "ms) must be greater than the renew deadline (" +
           std::to_string(c.renew_deadline.count()) + "ms)";
  // 1.2 * retry_period < renew_deadline, in integers: 6 * retry < 5 * deadline.
  if (c.renew_deadline.count() * 5 <= c.retry_period.count() * 6)
    return "lease renew deadline (" + std::to_string(c.renew_deadline.count()) +
           "ms) must be greater than 1.2 times the retry period (" +
           std::to_string(c.retry_period.count()) + "ms)";
  return "";
}

LeaderElector::LeaderElector(Transport* transport, LeaseConfig config, Clock* clock)
    : transport_(transport),
      config_(std::move(config)),
      clock_(clock ? clock : Clock::system()),
      jitter_rng_(std::random_device{}()) {
  if (const std::string e = validate(config_); !e.empty()) throw std::invalid_argument(e);
}

std::string LeaderElector::lease_path() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + config_.namespace_ + "/leases/" +
         config_.name;
}

json LeaderElector::record_spec(const Record& r) const {
  return json{{"holderIdentity", r.holder},
              {"leaseDurationSeconds", r.duration_seconds},
              {"acquireTime", r.acquire_time},
              {"renewTime", r.renew_time},
              {"leaseTransitions", r.transitions}};
}

bool LeaderElector::parse_lease(const std::string& body, json* object, Record* record,
                                std::string* error) {
  *object = json::parse(body, nullptr, false);
  if (!object->is_object()) {
    *error = "the Lease returned is not a JSON object";
    return false;
  }
  *record = {};
  auto meta = object->find("metadata");
  if (meta == object->end() || !meta->is_object() || !meta->contains("resourceVersion") ||
      !(*meta)["resourceVersion"].is_string()) {
    *error = "the Lease returned has no metadata.resourceVersion";
    return false;
  }
  auto spec = object->find("spec");
  if (spec == object->end() || spec->is_null()) return true;  // an empty Lease: nobody holds it
  if (!spec->is_object()) {
    *error = "the Lease returned has a spec that is not an object";
    return false;
  }
  // Absent and null fields are zero values, as Go decodes them.
  auto str = [&](const char* key, std::string* out) {
    auto it = spec->find(key);
    if (it == spec->end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* key, auto* out) {
    auto it = spec->find(key);
    if (it == spec->end() || it->is_null()) return true;
    if (!it->is_number_integer() || it->get<int64_t>() < 0) return false;
    *out = it->get<int64_t>();
    return true;
  };
  if (!str("holderIdentity", &record->holder) || !str("acquireTime", &record->acquire_time) ||
      !str("renewTime", &record->renew_time) ||
      !num("leaseDurationSeconds", &record->duration_seconds) ||
      !num("leaseTransitions", &record->transitions)) {
    *error = "the Lease returned has a spec field of the wrong type";
    return false;
  }
  return true;
}

void LeaderElector::fail(const std::string& error) {
  std::lock_guard lock(mu_);
  // Logged when it changes, not every retry period.
  if (error != last_error_)
    spdlog::warn("event=k8s_lease_error lease={}/{} error=\"{}\"", config_.namespace_, config_.name,
                 error);
  last_error_ = error;
}

void LeaderElector::observe(const json& object, const Record& record, steady_clock::time_point at) {
  // Called with mu_ held.
  lease_ = object;
  const std::string raw = record_spec(record).dump();
  if (raw != observed_raw_) {
    observed_raw_ = raw;
    observed_at_ = at;
  }
  observed_ = record;
}

bool LeaderElector::try_acquire_or_renew() {
  std::lock_guard io(io_);
  const auto started = clock_->now();
  const std::string stamp = format_micro_time(clock_->wall());
  Record mine;
  mine.holder = config_.identity;
  mine.duration_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(config_.duration).count();
  mine.acquire_time = stamp;
  mine.renew_time = stamp;

  Request get;
  get.path = lease_path();
  get.timeout = config_.renew_deadline;
  const Response got = transport_->request(get);
  // A change is observed when the answer arrives, not when we asked: the later instant is the
  // cautious one for a follower timing another node's lease.
  const auto seen = clock_->now();

  // 1. No Lease yet: create it naming us.
  if (got.status == 404) {
    Request post;
    post.method = "POST";
    post.path = "/apis/coordination.k8s.io/v1/namespaces/" + config_.namespace_ + "/leases";
    post.timeout = config_.renew_deadline;
    post.body = json{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", config_.name}, {"namespace", config_.namespace_}}},
                     {"spec", record_spec(mine)}}
                    .dump();
    const Response created = transport_->request(post);
    if (!created.ok()) {
      // 409 AlreadyExists: another node created it between our GET and POST; it leads.
      fail(api_error(post.method, post.path, created));
      return false;
    }
    json object;
    Record record;
    std::string error;
    if (!parse_lease(created.body, &object, &record, &error)) {
      // Created, but we cannot read the answer back: the next round's GET will tell.
      fail("POST " + post.path + ": " + error);
      return false;
    }
    std::lock_guard lock(mu_);
    spdlog::info("event=k8s_lease_acquired lease={}/{} identity={} transitions=0 created=true",
                 config_.namespace_, config_.name, config_.identity);
    observe(object, mine, started);
    have_renew_ = true;
    released_ = false;
    renew_started_ = started;
    last_error_.clear();
    return true;
  }
  if (!got.ok()) {
    fail(api_error(get.method, get.path, got));
    return false;
  }
  json object;
  Record old;
  std::string error;
  if (!parse_lease(got.body, &object, &old, &error)) {
    fail("GET " + get.path + ": " + error);
    return false;
  }

  bool was_leader;
  {
    std::lock_guard lock(mu_);
    observe(object, old, seen);
    // 2. Someone else holds a record we saw change less than its duration ago: follow.
    // (client-go's IsLeader: the record we now observe names us.)
    was_leader = observed_.holder == config_.identity;
    const bool valid = observed_at_ + std::chrono::seconds(observed_.duration_seconds) > seen;
    if (!old.holder.empty() && valid && !was_leader) {
      last_error_.clear();
      return false;
    }
  }

  // 3. Take it, or renew it.
  if (was_leader) {
    mine.acquire_time = old.acquire_time;
    mine.transitions = old.transitions;
  } else {
    mine.transitions = old.transitions + 1;
  }
  json updated = object;
  updated["spec"] = record_spec(mine);
  Request put;
  put.method = "PUT";
  put.path = lease_path();
  put.timeout = config_.renew_deadline;
  put.body = updated.dump();
  const Response r = transport_->request(put);
  if (!r.ok()) {
    // 409: the resourceVersion moved, another node renewed or took it first.
    fail(api_error(put.method, put.path, r));
    return false;
  }
  json written;
  Record record;
  if (!parse_lease(r.body, &written, &record, &error)) {
    fail("PUT " + put.path + ": " + error);
    return false;
  }
  std::lock_guard lock(mu_);
  if (!was_leader)
    spdlog::info("event=k8s_lease_acquired lease={}/{} identity={} transitions={}",
                 config_.namespace_, config_.name, config_.identity, mine.transitions);
  observe(written, mine, started);
  have_renew_ = true;
  released_ = false;
  renew_started_ = started;
  last_error_.clear();
  return true;
}

bool LeaderElector::leading_at(steady_clock::time_point now) const {
  return have_renew_ && !released_ && observed_.holder == config_.identity &&
         now < renew_started_ + config_.renew_deadline;
}

bool LeaderElector::leading() const {
  const auto now = clock_->now();
  std::lock_guard lock(mu_);
  return leading_at(now);
}

bool LeaderElector::leading_fenced() const {
  // leading_at() measures from the START of the last successful renew, and renew_started_ +
  // duration is the earliest another node may take over (it observes our renew after we sent
  // it, then waits a whole duration). So whenever leading_at() holds, at least
  // duration - renew_deadline remains: the margin lease.h promises.
  const auto now = clock_->now();
  std::lock_guard lock(mu_);
  return leading_at(now);
}

std::string LeaderElector::holder() const {
  std::lock_guard lock(mu_);
  return observed_.holder;
}

uint64_t LeaderElector::transitions() const {
  std::lock_guard lock(mu_);
  return observed_.transitions;
}

std::string LeaderElector::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void LeaderElector::run(const std::atomic<bool>* stop) {
  std::uniform_real_distribution<double> jitter(0.0, 1.2);
  bool was_leading = false;
  while (!(stop && stop->load())) {
    try_acquire_or_renew();
    const bool now_leading = leading();
    if (was_leading && !now_leading)
      spdlog::warn("event=k8s_lease_lost lease={}/{} identity={} holder={} error={}",
                   config_.namespace_, config_.name, config_.identity, holder(), last_error());
    was_leading = now_leading;
    // The leader renews every retry period; candidates wait retry_period * [1, 2.2) so that
    // they do not all hit the server at once (client-go's JitterUntil with factor 1.2).
    milliseconds wait = config_.retry_period;
    if (!now_leading)
      wait +=
          milliseconds(static_cast<int64_t>(config_.retry_period.count() * jitter(jitter_rng_)));
    clock_->sleep(wait, stop);
  }
  release();
}

void LeaderElector::release() {
  std::lock_guard io(io_);
  {
    std::lock_guard lock(mu_);
    if (observed_.holder != config_.identity || !have_renew_) return;
    released_ = true;  // stop writing before the lease is given away
  }
  for (int attempt = 0; attempt < kReleaseAttempts; ++attempt) {
    json object;
    Record current;
    {
      std::lock_guard lock(mu_);
      object = lease_;
      current = observed_;
    }
    if (current.holder != config_.identity) return;  // someone else has it already
    const std::string stamp = format_micro_time(clock_->wall());
    Record empty;
    empty.duration_seconds = 1;
    empty.acquire_time = stamp;
    empty.renew_time = stamp;
    empty.transitions = current.transitions;
    object["spec"] = record_spec(empty);
    Request put;
    put.method = "PUT";
    put.path = lease_path();
    put.timeout = config_.renew_deadline;
    put.body = object.dump();
    const Response r = transport_->request(put);
    if (r.ok()) {
      json written;
      Record record;
      std::string error;
      std::lock_guard lock(mu_);
      if (parse_lease(r.body, &written, &record, &error)) lease_ = written;
      observed_ = empty;
      observed_raw_ = record_spec(empty).dump();
      observed_at_ = clock_->now();
      last_error_.clear();
      spdlog::info("event=k8s_lease_released lease={}/{} identity={}", config_.namespace_,
                   config_.name, config_.identity);
      return;
    }
    fail(api_error(put.method, put.path, r));
    if (r.status != 409) return;  // only a conflict is worth another try
    // Re-read: a newer resourceVersion of our own record (retry), or another holder (done).
    Request get;
    get.path = lease_path();
    get.timeout = config_.renew_deadline;
    const Response got = transport_->request(get);
    if (!got.ok()) {
      fail(api_error(get.method, get.path, got));
      return;
    }
    json fresh;
    Record record;
    std::string error;
    if (!parse_lease(got.body, &fresh, &record, &error)) {
      fail("GET " + get.path + ": " + error);
      return;
    }
    std::lock_guard lock(mu_);
    observe(fresh, record, clock_->now());
  }
}

}  // namespace control::k8s
