// RFC 3339 timestamps as Kubernetes writes metadata.creationTimestamp ("2024-05-01T12:00:00Z").
//
// Gateway API orders routes by creation time when everything else ties, so the loader keeps
// creationTimestamp as Unix seconds. Accepts what Go's time.Parse(time.RFC3339, ...) accepts,
// which is how metav1.Time decodes: a full date, 'T' (or 't'), a time with optional fractional
// seconds (dropped: the API server stores whole seconds), and 'Z' or a +hh:mm / -hh:mm offset.
// Pure code, control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace config {

// Unix seconds (UTC) of `text`, or nullopt when it is not an RFC 3339 date-time or names a day
// that does not exist (2023-02-29). Years 0000-9999, as RFC 3339 allows.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace config
