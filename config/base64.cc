// Base64 as Kubernetes objects carry it (see base64.h).
#include "config/base64.h"

#include <cstdint>

namespace config {

namespace {

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

// Go's base64.StdEncoding as encoding/json decodes []byte: padded, line breaks ignored. On error
// returns false with the offset of the first bad byte (Go's "illegal base64 data at input byte").
bool decode_base64(std::string_view in, std::string* out, size_t* bad_at, bool skip_blanks) {
  out->clear();
  uint32_t quantum = 0;
  int have = 0;     // digits in the current quantum
  int padding = 0;  // '=' seen
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r' || c == '\n') continue;
    if (skip_blanks && (c == ' ' || c == '\t')) continue;
    if (c == '=') {
      // Padding completes a quantum of 2 or 3 digits, and nothing follows it.
      if (have + padding < 2 || have + padding >= 4) {
        *bad_at = i;
        return false;
      }
      ++padding;
      continue;
    }
    const int d = base64_digit(c);
    if (d < 0 || padding > 0) {
      *bad_at = i;
      return false;
    }
    quantum = quantum << 6 | static_cast<uint32_t>(d);
    if (++have == 4) {
      out->push_back(static_cast<char>(quantum >> 16));
      out->push_back(static_cast<char>(quantum >> 8 & 0xff));
      out->push_back(static_cast<char>(quantum & 0xff));
      quantum = 0;
      have = 0;
    }
  }
  if (have == 0 && padding == 0) return true;
  if (have + padding != 4) {
    *bad_at = in.size();  // the input ends inside a quantum
    return false;
  }
  if (have == 2) {
    out->push_back(static_cast<char>(quantum >> 4));
  } else if (have == 3) {
    out->push_back(static_cast<char>(quantum >> 10));
    out->push_back(static_cast<char>(quantum >> 2 & 0xff));
  }
  return true;
}

}  // namespace config
