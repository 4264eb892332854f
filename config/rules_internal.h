// Text rules the loader applies to single values, private to config/.
//
// Kubernetes' name and label rules (k8s.io/apimachinery/pkg/util/validation), with messages in
// its own wording so that an error reads as `kubectl apply` would print it; DPDK's lcore list
// syntax; Linux interface names; and the one YAML rule yaml-cpp does not enforce (no tabs in
// indentation). Pure functions, implemented in validation.cc; unit-tested directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

// Each returns the problems found (Kubernetes messages), empty when the value is valid.
std::vector<std::string> dns1123_subdomain_errors(std::string_view value);  // <= 253
std::vector<std::string> dns1123_label_errors(std::string_view value);      // <= 63
std::vector<std::string> dns1035_label_errors(std::string_view value);      // <= 63, letter first
std::vector<std::string> qualified_name_errors(std::string_view value);     // label keys
std::vector<std::string> label_value_errors(std::string_view value);
std::vector<std::string> port_name_errors(std::string_view value);  // IANA service name
std::vector<std::string> config_key_errors(std::string_view value);  // Secret data keys

// Problems joined with "; " as Kubernetes prints several of them for one value.
std::string join_messages(const std::vector<std::string>& messages);

// A Linux network interface name (IFNAMSIZ - 1 = 15 bytes, no '/', no spaces, not "." or "..").
std::optional<std::string> interface_name_error(std::string_view name);

// 1-based numbers of the lines whose indentation holds a tab character. YAML forbids them and
// libyaml / go-yaml (so kubectl) refuse them, but yaml-cpp 0.7 accepts them silently. Tabs that
// are content of a block scalar (| or >) are not reported.
std::vector<int> tab_indented_lines(std::string_view text);

}  // namespace config
