// Informer: list+watch cache of one resource (see informer.h for the state machine).
//
// Thread: run() on the informer's own thread; the getters from any thread under mu_.
// Logs (spdlog, event=k8s_*) name the resource and the failure, never object data or tokens.
#include "control/k8s/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "control/k8s/watch.h"

namespace control::k8s {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr milliseconds kStopPoll{20};
// A list page may be large and the server slow to build it; longer than Request's default.
constexpr milliseconds kListTimeout{60000};
// Restarts of a list whose continue token expired before it is treated as a failure (each
// restart is a full list; an API server that expires tokens faster than we page would
// otherwise keep us listing forever).
constexpr int kMaxContinueRestarts = 3;
// The watchdog on a watch: the server should close at timeoutSeconds; this much later we stop
// waiting for it.
constexpr std::chrono::seconds kWatchIdleSlack{30};
// A Retry-After beyond this is not believed.
constexpr std::chrono::seconds kMaxRetryAfter{600};
constexpr size_t kMaxMessage = 300;

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

const std::string* string_at(const json& o, const char* a, const char* b) {
  auto i = o.find(a);
  if (i == o.end() || !i->is_object()) return nullptr;
  auto j = i->find(b);
  if (j == i->end() || !j->is_string()) return nullptr;
  return &j->get_ref<const std::string&>();
}

// "namespace/name", or "name" for cluster-scoped objects; "" when the object has no name.
std::string object_key(const json& o) {
  const std::string* name = string_at(o, "metadata", "name");
  if (name == nullptr || name->empty()) return {};
  const std::string* ns = string_at(o, "metadata", "namespace");
  if (ns == nullptr || ns->empty()) return *name;
  return *ns + "/" + *name;
}

// The object's kind when it states one that differs from `kind`.
bool wrong_kind(const json& o, const std::string& kind) {
  auto k = o.find("kind");
  return k != o.end() && (!k->is_string() || k->get_ref<const std::string&>() != kind);
}

// Whether a Status (an error body or an ERROR event's object) says "your resourceVersion is
// unusable, list again": 410 Gone/Expired, or ResourceVersionTooLarge (client-go treats it as
// expired; older servers only say so in the message).
bool status_says_relist(const json& st) {
  if (!st.is_object()) return false;
  auto code = st.find("code");
  if (code != st.end() && code->is_number_integer() && code->get<int64_t>() == 410) return true;
  auto reason = st.find("reason");
  if (reason != st.end() && reason->is_string()) {
    const auto& r = reason->get_ref<const std::string&>();
    if (r == "Expired" || r == "Gone") return true;
  }
  auto details = st.find("details");
  if (details != st.end() && details->is_object()) {
    auto causes = details->find("causes");
    if (causes != details->end() && causes->is_array()) {
      for (const auto& c : *causes) {
        if (!c.is_object()) continue;
        auto cr = c.find("reason");
        if (cr != c.end() && cr->is_string() &&
            cr->get_ref<const std::string&>() == "ResourceVersionTooLarge") {
          return true;
        }
      }
    }
  }
  auto message = st.find("message");
  return message != st.end() && message->is_string() &&
         message->get_ref<const std::string&>().find("Too large resource version") !=
             std::string::npos;
}

// "HTTP 403 Forbidden: <Status message>", bounded. A Status carries no object data.
std::string describe_status(int status, const json& st) {
  std::string out = "HTTP " + std::to_string(status);
  if (st.is_object()) {
    auto reason = st.find("reason");
    if (reason != st.end() && reason->is_string()) {
      out += " " + reason->get_ref<const std::string&>().substr(0, 40);
    }
    auto message = st.find("message");
    if (message != st.end() && message->is_string()) {
      out += ": " + message->get_ref<const std::string&>().substr(0, kMaxMessage);
    }
  }
  return out;
}

json parse_or_null(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

// Retry-After as delay-seconds; the HTTP-date form is not used by the API server and is
// ignored (the ordinary backoff applies).
milliseconds parse_retry_after(const std::string& s) {
  if (s.empty() || s.size() > 6) return milliseconds(0);
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return milliseconds(0);
    v = v * 10 + (c - '0');
  }
  return std::chrono::duration_cast<milliseconds>(
      std::min(std::chrono::seconds(v), kMaxRetryAfter));
}

}  // namespace

const char* to_string(InformerState s) {
  switch (s) {
    case InformerState::kListing: return "listing";
    case InformerState::kWatching: return "watching";
    case InformerState::kBackoff: return "backoff";
    case InformerState::kNotInstalled: return "not-installed";
    case InformerState::kStopped: return "stopped";
  }
  return "?";
}

Informer::Informer(Transport* t, Resource r, InformerOptions o)
    : transport_(t),
      resource_(std::move(r)),
      opts_(o),
      rng_(o.seed != 0 ? o.seed : std::random_device{}()) {}

// ---- getters (any thread) ----

uint64_t Informer::version() const {
  std::lock_guard lock(mu_);
  return version_;
}
bool Informer::synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}
InformerState Informer::state() const {
  std::lock_guard lock(mu_);
  return state_;
}
std::string Informer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}
uint64_t Informer::relists() const { return relists_.load(); }
uint64_t Informer::watch_restarts() const { return watch_restarts_.load(); }
uint64_t Informer::errors() const { return errors_.load(); }
std::map<std::string, json> Informer::objects() const {
  std::lock_guard lock(mu_);
  return cache_;
}
std::string Informer::served_version() const {
  std::lock_guard lock(mu_);
  return served_version_;
}

// ---- the informer thread ----

void Informer::set_state(InformerState s) {
  std::lock_guard lock(mu_);
  state_ = s;
}

void Informer::fail(const std::string& message, milliseconds retry_after) {
  errors_.fetch_add(1);
  pending_retry_after_ = retry_after;
  spdlog::warn("event=k8s_informer_error resource={} error=\"{}\"", resource_.plural, message);
  std::lock_guard lock(mu_);
  last_error_ = message;
}

std::string Informer::base_path(const std::string& version) const {
  if (resource_.group.empty()) return "/api/" + version + "/" + resource_.plural;
  return "/apis/" + resource_.group + "/" + version + "/" + resource_.plural;
}

std::string Informer::describe(const char* verb, const Response& r) const {
  std::string what = std::string(verb) + " " + resource_.plural + ": ";
  if (r.status == 0) return what + (r.error.empty() ? "no response" : r.error);
  return what + describe_status(r.status, parse_or_null(r.body));
}

bool Informer::sleep_for(const std::atomic<bool>* stop, milliseconds d) {
  auto deadline = Clock::now() + d;
  while (!stop->load()) {
    auto now = Clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(kStopPoll, deadline - now));
  }
  return false;
}

bool Informer::back_off(const std::atomic<bool>* stop, milliseconds at_least) {
  auto now = Clock::now();
  if (backoff_step_ > 0 && now - last_failure_ > opts_.backoff_reset) backoff_step_ = 0;
  last_failure_ = now;
  // d = initial * 2^step, capped; then full jitter (client-go's jitter factor 1.0): [d, 2d).
  auto max = std::max(opts_.backoff_max, milliseconds(1));
  milliseconds base = std::max(opts_.backoff_initial, milliseconds(1));
  for (uint32_t i = 0; i < backoff_step_ && base < max; ++i) base *= 2;
  base = std::min(base, max);
  std::uniform_int_distribution<int64_t> jitter(0, base.count() - 1);
  milliseconds delay = std::min(base + milliseconds(jitter(rng_)), max);
  delay = std::max(delay, at_least);  // a server's Retry-After wins over a shorter backoff
  if (backoff_step_ < 64) ++backoff_step_;
  spdlog::info("event=k8s_informer_backoff resource={} delay_ms={}", resource_.plural,
               delay.count());
  set_state(InformerState::kBackoff);
  return sleep_for(stop, delay);
}

Informer::Outcome Informer::list(const std::atomic<bool>* stop) {
  set_state(InformerState::kListing);
  if (resource_.versions.empty()) {
    std::lock_guard lock(mu_);
    last_error_ = "list " + resource_.plural + ": no API versions configured";
    return Outcome::kNotInstalled;
  }
  for (int restart = 0; restart <= kMaxContinueRestarts; ++restart) {
    if (listed_once_) relists_.fetch_add(1);
    listed_once_ = true;

    // Pages are gathered here and applied together: a list is one consistent snapshot (every
    // page carries the same resourceVersion), and half of one must never reach the cache.
    std::map<std::string, json> fresh;
    std::string list_rv, cont;
    size_t vi = 0;
    bool restart_list = false;
    for (;;) {
      if (stop->load()) return Outcome::kStopped;
      const std::string& v = resource_.versions[vi];
      Request req;
      req.path = base_path(v) + "?limit=" + std::to_string(opts_.page_size);
      if (!resource_.field_selector.empty()) {
        req.path += "&fieldSelector=" + url_encode(resource_.field_selector);
      }
      if (!resource_.label_selector.empty()) {
        req.path += "&labelSelector=" + url_encode(resource_.label_selector);
      }
      if (!cont.empty()) req.path += "&continue=" + url_encode(cont);
      req.timeout = kListTimeout;
      Response r = transport_->request(req);
      if (stop->load()) return Outcome::kStopped;

      if (r.status == 404 && cont.empty()) {
        // This version is not served (a CRD absent, or an older one installed): the next.
        if (++vi < resource_.versions.size()) continue;
        std::string tried;
        for (const auto& t : resource_.versions) tried += (tried.empty() ? "" : ",") + t;
        std::lock_guard lock(mu_);
        last_error_ = "list " + resource_.plural + ": not installed (HTTP 404 for versions " +
                      tried + ")";
        return Outcome::kNotInstalled;
      }
      if (r.status == 410 && !cont.empty()) {
        // The continue token expired. The Status carries a fresh token, but it continues from
        // a newer snapshot: the result would mix two states. Start over instead.
        spdlog::info("event=k8s_informer_continue_expired resource={}", resource_.plural);
        restart_list = true;
        break;
      }
      if (!r.ok()) {
        fail(describe("list", r), parse_retry_after(r.retry_after));
        return Outcome::kFail;
      }
      json body = parse_or_null(r.body);
      auto items = body.is_object() ? body.find("items") : body.end();
      const std::string* rv = body.is_object() ? string_at(body, "metadata", "resourceVersion")
                                               : nullptr;
      if (!body.is_object() || items == body.end() || !(items->is_array() || items->is_null()) ||
          rv == nullptr || rv->empty()) {
        fail("list " + resource_.plural + ": malformed list body (" +
             std::to_string(r.body.size()) + " bytes; want items[] and metadata.resourceVersion)");
        return Outcome::kFail;
      }
      list_rv = *rv;
      if (items->is_array()) {
        for (auto& item : *items) {
          std::string key = item.is_object() ? object_key(item) : std::string();
          if (key.empty() || wrong_kind(item, resource_.kind)) {
            errors_.fetch_add(1);
            spdlog::warn("event=k8s_informer_item_ignored resource={} key=\"{}\" why=\"{}\"",
                         resource_.plural, key, key.empty() ? "no metadata.name" : "wrong kind");
            continue;
          }
          // Items of a list come without kind and apiVersion (the list says them once); the
          // cache holds objects that say what they are, as watch events do.
          if (!item.contains("kind")) item["kind"] = resource_.kind;
          if (!item.contains("apiVersion")) {
            item["apiVersion"] = resource_.group.empty() ? v : resource_.group + "/" + v;
          }
          fresh[key] = std::move(item);
        }
      }
      const std::string* next = string_at(body, "metadata", "continue");
      cont = next != nullptr ? *next : std::string();
      if (cont.empty()) break;
    }
    if (restart_list) continue;

    const std::string& v = resource_.versions[vi];
    {
      std::lock_guard lock(mu_);
      // An identical relist (after a reconnect, say) is no change: the control thread then
      // rebuilds nothing and nothing flaps.
      bool changed = !synced_ || fresh != cache_;
      cache_.swap(fresh);
      served_version_ = v;
      synced_ = true;
      last_error_.clear();
      if (changed) ++version_;
    }
    rv_ = list_rv;
    version_in_use_ = v;
    spdlog::info("event=k8s_informer_listed resource={} version={} objects={}", resource_.plural,
                 v, cache_size_for_log());
    return Outcome::kOk;
  }
  fail("list " + resource_.plural + ": continue token expired " +
       std::to_string(kMaxContinueRestarts + 1) + " times in a row");
  return Outcome::kFail;
}

size_t Informer::cache_size_for_log() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

Informer::Outcome Informer::watch(const std::atomic<bool>* stop) {
  set_state(InformerState::kWatching);
  if (watched_once_) watch_restarts_.fetch_add(1);
  watched_once_ = true;
  relist_after_backoff_ = false;

  auto lo = opts_.min_watch.count(), hi = std::max(opts_.max_watch.count(), lo);
  int64_t timeout = std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  std::string path = base_path(version_in_use_) + "?watch=1&resourceVersion=" + url_encode(rv_) +
                     "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout);
  if (!resource_.field_selector.empty()) {
    path += "&fieldSelector=" + url_encode(resource_.field_selector);
  }
  if (!resource_.label_selector.empty()) {
    path += "&labelSelector=" + url_encode(resource_.label_selector);
  }

  LineCutter cutter;
  std::vector<std::string> lines;
  uint64_t events = 0;
  Outcome verdict = Outcome::kOk;
  std::string why;  // for a verdict other than kOk
  bool counts_as_error = false;

  auto on_data = [&](std::string_view bytes) {
    lines.clear();
    std::string err;
    if (!cutter.feed(bytes, &lines, &err)) {
      verdict = Outcome::kRelist;
      why = "watch " + resource_.plural + ": " + err;
      counts_as_error = true;
      return false;
    }
    for (const auto& line : lines) {
      WatchEvent ev;
      if (!parse_watch_event(line, &ev, &err)) {
        // A line we cannot read may have been a change we now miss: only a list is sure.
        verdict = Outcome::kRelist;
        why = "watch " + resource_.plural + ": " + err;
        counts_as_error = true;
        return false;
      }
      ++events;
      const std::string* rv = string_at(ev.object, "metadata", "resourceVersion");
      switch (ev.type) {
        case WatchEvent::Type::kBookmark:
          // Only the RV means anything in a bookmark; the rest is empty or zero-valued.
          if (rv != nullptr && !rv->empty()) rv_ = *rv;
          break;
        case WatchEvent::Type::kError:
          if (status_says_relist(ev.object)) {
            verdict = Outcome::kRelist;
            why = "watch " + resource_.plural + ": resource version expired (" +
                  describe_status(410, ev.object) + ")";
          } else {
            verdict = Outcome::kFail;
            auto code = ev.object.find("code");
            int status = code != ev.object.end() && code->is_number_integer()
                             ? code->get<int>()
                             : 0;
            why = "watch " + resource_.plural + ": ERROR event, " +
                  describe_status(status, ev.object);
            counts_as_error = true;
          }
          return false;
        case WatchEvent::Type::kAdded:
        case WatchEvent::Type::kModified:
        case WatchEvent::Type::kDeleted: {
          std::string key = object_key(ev.object);
          if (key.empty() || wrong_kind(ev.object, resource_.kind)) {
            errors_.fetch_add(1);
            spdlog::warn("event=k8s_informer_event_ignored resource={} type={} key=\"{}\" "
                         "why=\"{}\"",
                         resource_.plural, to_string(ev.type), key,
                         key.empty() ? "no metadata.name" : "wrong kind");
            break;
          }
          if (rv != nullptr && !rv->empty()) rv_ = *rv;
          std::lock_guard lock(mu_);
          if (ev.type == WatchEvent::Type::kDeleted) {
            if (cache_.erase(key) > 0) ++version_;
          } else {
            cache_[key] = std::move(ev.object);
            ++version_;
          }
          break;
        }
      }
    }
    return true;
  };

  auto started = Clock::now();
  Response r = transport_->stream(path, on_data, stop,
                                  std::chrono::seconds(timeout) + kWatchIdleSlack);
  last_watch_events_ = events;
  if (stop->load()) return Outcome::kStopped;

  if (verdict == Outcome::kRelist) {
    if (counts_as_error) {
      fail(why);
    } else {
      spdlog::info("event=k8s_informer_relist resource={} why=\"{}\"", resource_.plural, why);
    }
    return Outcome::kRelist;
  }
  if (verdict == Outcome::kFail) {
    fail(why);
    return Outcome::kFail;
  }
  if (!r.ok()) {
    json st = r.status != 0 ? parse_or_null(r.body) : json();
    if (r.status == 410 || status_says_relist(st)) {
      spdlog::info("event=k8s_informer_relist resource={} why=\"{}\"", resource_.plural,
                   describe("watch", r));
      return Outcome::kRelist;
    }
    // 404: the kind went away (a CRD deleted) or changed version: after the backoff, a list
    // probes the versions again.
    relist_after_backoff_ = r.status == 404;
    fail(describe("watch", r), parse_retry_after(r.retry_after));
    return Outcome::kFail;
  }
  auto lasted = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  if (events == 0 && lasted < opts_.min_watch_lifetime) {
    // A server that closes every watch at once would otherwise be hammered in a tight loop.
    fail("watch " + resource_.plural + ": closed after " + std::to_string(lasted.count()) +
         " ms with no events");
    return Outcome::kFail;
  }
  return Outcome::kOk;
}

void Informer::run(const std::atomic<bool>* stop) {
  bool need_list = true;
  bool just_listed = false;
  while (!stop->load()) {
    if (need_list) {
      switch (list(stop)) {
        case Outcome::kOk:
          need_list = false;
          just_listed = true;
          break;
        case Outcome::kNotInstalled: {
          set_state(InformerState::kNotInstalled);
          spdlog::info("event=k8s_informer_not_installed resource={} retry_ms={}",
                       resource_.plural, opts_.not_installed_retry.count());
          sleep_for(stop, opts_.not_installed_retry);
          break;
        }
        case Outcome::kFail:
        case Outcome::kRelist:
          back_off(stop, pending_retry_after_);
          break;
        case Outcome::kStopped:
          break;
      }
      continue;
    }
    switch (watch(stop)) {
      case Outcome::kOk:
        just_listed = false;
        break;
      case Outcome::kRelist:
        need_list = true;
        // Told to relist by the very first watch after a list, with nothing in between: the
        // server and we disagree about its RVs (a watch cache behind etcd, say). Relisting at
        // once could loop as fast as the network allows; back off first, as client-go does.
        if (just_listed && last_watch_events_ == 0) {
          back_off(stop, milliseconds(0));
        }
        break;
      case Outcome::kFail:
        back_off(stop, pending_retry_after_);
        // After a 404 the kind must be found again (a list probes the versions); otherwise
        // the watch resumes from the last RV, and a 410 then will say if a list is needed.
        if (relist_after_backoff_) need_list = true;
        break;
      case Outcome::kNotInstalled:
      case Outcome::kStopped:
        break;
    }
  }
  set_state(InformerState::kStopped);
}

}  // namespace control::k8s
