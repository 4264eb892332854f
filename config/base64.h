// Base64 as Kubernetes objects carry it: Go's base64.StdEncoding, as encoding/json decodes a
// []byte field (Secret data, kubeconfig *-data). Padded; line breaks ignored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace config {

// False with *bad_at the offset of the first bad byte (Go's "illegal base64 data at input
// byte N"; the input's length when it ends inside a quantum): messages say where, never what.
// skip_blanks: spaces and tabs are skipped too (a YAML plain scalar folded over lines).
bool decode_base64(std::string_view in, std::string* out, size_t* bad_at,
                   bool skip_blanks = false);

}  // namespace config
