// porticoctl: JSON -> YAML with yaml-cpp's emitter (see json_yaml.h).
#include "control/porticoctl/json_yaml.h"

#include <regex>

#include <yaml-cpp/yaml.h>

namespace porticoctl {

// A plain scalar that YAML 1.1 resolves to something else than a string: bools (y/n, yes/no,
// on/off, true/false in their three spellings), null (~, null), ints (decimal, 0x, 0o, 0b,
// sexagesimal left out), floats and .inf/.nan. yaml-cpp quotes "null" but not the rest.
static bool needs_quotes(const std::string& s) {
  static const std::regex special(
      "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
      "~|null|Null|NULL|"
      "[-+]?(0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|"
      "[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|"
      "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  return std::regex_match(s, special);
}

static void emit(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out << YAML::Key;
        if (needs_quotes(it.key())) out << YAML::DoubleQuoted;
        out << it.key() << YAML::Value;
        emit(out, it.value());
      }
      out << YAML::EndMap;
      return;
    case Json::value_t::array:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const Json& e : v) emit(out, e);
      out << YAML::EndSeq;
      return;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case Json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      return;
    case Json::value_t::null:
      out << YAML::Null;
      return;
    default:  // numbers, written as JSON writes them (no float re-rounding)
      out << v.dump();
      return;
  }
}

std::string json_to_yaml(const Json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

}  // namespace porticoctl
