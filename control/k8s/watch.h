// Watch framing: the body of a Kubernetes watch, cut into events.
//
// The API server writes one compact JSON object per event, each ended by "\n"
// ({"type":"ADDED","object":{...}}). HTTP chunks (HTTP/1.1) or DATA frames (HTTP/2) bear no
// relation to those lines: an event may come in many pieces, several events in one, and a
// piece may end inside a multi-byte UTF-8 character. LineCutter buffers bytes and hands out
// complete lines only; parse_watch_event turns one line into a WatchEvent.
// Reference: ../shared/reference/k8s-and-bgp.md A3 (event types), A4 (framing); client-go
// rest/watch/decoder.go (an unknown type is a decode error).
//
// Thread: whoever reads the stream (an Informer's thread). No shared state.
// Error messages never quote the line: a watch on Secrets carries key material.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace control::k8s {

// Bytes in, complete lines out. A line is what precedes a "\n" (a "\r" before it is dropped);
// lines that are empty or only whitespace are skipped (servers and proxies send keep-alive
// newlines). A line longer than max_line bytes is an error: the stream is then unusable and
// the cutter must not be fed again (reset() makes it usable for a new stream).
class LineCutter {
 public:
  static constexpr size_t kDefaultMaxLine = 16u << 20;

  explicit LineCutter(size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Appends the complete lines found so far to *lines. Returns false (and sets *error) when a
  // line is over the bound, even before its end has arrived.
  bool feed(std::string_view bytes, std::vector<std::string>* lines, std::string* error);

  // Bytes held of a line whose "\n" has not arrived yet.
  size_t pending() const { return buf_.size(); }

  void reset() {
    buf_.clear();
    failed_ = false;
  }

 private:
  size_t max_line_;
  std::string buf_;  // the start of the current, unfinished line
  bool failed_ = false;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError } type = Type::kAdded;
  nlohmann::json object;  // the object (ERROR: a Status); always a JSON object
};

const char* to_string(WatchEvent::Type t);

// Parses one line. Fails with a message on bad JSON, on a missing or unknown "type" and when
// "object" is missing or not a JSON object.
bool parse_watch_event(std::string_view line, WatchEvent* out, std::string* error);

}  // namespace control::k8s
