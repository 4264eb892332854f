// porticoctl: JSON -> YAML for `get -o yaml` and the spec/status blocks of `describe`. The
// objects come from the API as JSON; yaml-cpp's emitter writes them in block style, keys in the
// order the server sent them. Pure code.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace porticoctl {

using Json = nlohmann::ordered_json;

// The YAML text of `value` (no leading "---", ends with a newline). Strings that a YAML 1.1
// reader (kubectl, go-yaml) would take for a number, a bool or null are quoted, so that the text
// reads back as the same JSON.
std::string json_to_yaml(const Json& value);

}  // namespace porticoctl
