// Watch framing (see watch.h).
#include "control/k8s/watch.h"

#include <array>
#include <utility>

namespace control::k8s {

namespace {

bool blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Hands a finished line over unless it is blank; drops the "\r" of a CRLF ending.
void emit(std::string&& line, std::vector<std::string>* lines) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!blank(line)) lines->push_back(std::move(line));
}

std::string too_long(size_t max_line) {
  return "watch stream: a line is longer than " + std::to_string(max_line) +
         " bytes (no newline); the stream is not a watch or is corrupt";
}

}  // namespace

bool LineCutter::feed(std::string_view bytes, std::vector<std::string>* lines,
                      std::string* error) {
  if (failed_) {
    *error = "watch stream: fed after a framing error";
    return false;
  }
  // Only the new bytes are scanned for "\n": a large event arriving in many small pieces costs
  // linear time, not quadratic.
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (buf_.size() + bytes.size() > max_line_) {
        failed_ = true;
        buf_.clear();
        *error = too_long(max_line_);
        return false;
      }
      buf_.append(bytes);
      return true;
    }
    if (buf_.size() + nl > max_line_) {
      failed_ = true;
      buf_.clear();
      *error = too_long(max_line_);
      return false;
    }
    std::string line;
    if (buf_.empty()) {
      line.assign(bytes.substr(0, nl));
    } else {
      buf_.append(bytes.substr(0, nl));
      line = std::move(buf_);
      buf_.clear();
    }
    emit(std::move(line), lines);
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

const char* to_string(WatchEvent::Type t) {
  switch (t) {
    case WatchEvent::Type::kAdded: return "ADDED";
    case WatchEvent::Type::kModified: return "MODIFIED";
    case WatchEvent::Type::kDeleted: return "DELETED";
    case WatchEvent::Type::kBookmark: return "BOOKMARK";
    case WatchEvent::Type::kError: return "ERROR";
  }
  return "?";
}

bool parse_watch_event(std::string_view line, WatchEvent* out, std::string* error) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line.begin(), line.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() quotes the text near the fault ("last read: ..."), which may be a Secret's data:
    // only the position is reported.
    *error = "watch event: bad JSON at byte " + std::to_string(e.byte) + " of " +
             std::to_string(line.size());
    return false;
  } catch (const nlohmann::json::exception&) {
    *error = "watch event: bad JSON (" + std::to_string(line.size()) + " bytes)";
    return false;
  }
  if (!j.is_object()) {
    *error = "watch event: not a JSON object";
    return false;
  }
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    *error = "watch event: no \"type\" string";
    return false;
  }
  static constexpr std::array<std::pair<std::string_view, WatchEvent::Type>, 5> kTypes = {{
      {"ADDED", WatchEvent::Type::kAdded},
      {"MODIFIED", WatchEvent::Type::kModified},
      {"DELETED", WatchEvent::Type::kDeleted},
      {"BOOKMARK", WatchEvent::Type::kBookmark},
      {"ERROR", WatchEvent::Type::kError},
  }};
  const auto& name = type->get_ref<const std::string&>();
  bool known = false;
  for (const auto& [text, t] : kTypes) {
    if (name == text) {
      out->type = t;
      known = true;
      break;
    }
  }
  if (!known) {
    // The type is a protocol word, not object data; quoted, but bounded.
    *error = "watch event: unknown type \"" + name.substr(0, 40) + "\"";
    return false;
  }
  auto object = j.find("object");
  if (object == j.end() || !object->is_object()) {
    *error = std::string("watch event ") + to_string(out->type) + ": no \"object\" object";
    return false;
  }
  out->object = std::move(*object);
  return true;
}

}  // namespace control::k8s
