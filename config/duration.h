// Durations as Kubernetes objects write them: Go's time.ParseDuration syntax.
//
// "500ms", "30s", "15m", "1h30m", "1.5s": a sequence of decimal numbers, each with an optional
// fraction and a unit (ns, us or µs, ms, s, m, h), as metav1.Duration fields are written. A bare
// decimal integer ("30") means seconds, the unit NodeConfig and BGP settings use when a number is
// written without one. Pure code, control thread only (config validation); used for NodeConfig
// timeouts and, later, BGP hold and keepalive times.
#pragma once

#include <cstdint>
#include <string>

namespace config {

// Parses `text` into whole milliseconds. Returns false, leaving *out unchanged, when the text is
// not a duration, is negative, exceeds Go's limit (2^63-1 ns, about 292 years) or is not a whole
// number of milliseconds ("1500us" is refused, "1.5ms" too; "0.5s" is 500). "0" is 0.
bool parse_duration_ms(const std::string& text, uint64_t* out);

// The shortest Go-style text of a duration in milliseconds ("1h30m", "500ms", "0s"), for
// messages and dumps; parse_duration_ms(format_duration_ms(x)) == x.
std::string format_duration_ms(uint64_t ms);

}  // namespace config
