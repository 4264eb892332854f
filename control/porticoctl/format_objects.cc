// porticoctl: text of the object commands (apply, get, describe). The objects arrive as the JSON
// the server computes (`portico check -o json` shape: apiVersion, kind, metadata, spec, status,
// events); columns read it defensively, a missing field prints as "<none>" or empty.
#include <sstream>

#include "control/porticoctl/format.h"
#include "control/porticoctl/json_yaml.h"

namespace porticoctl {

using portico::v1::Object;

std::string Table::render() const {
  std::vector<size_t> width(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      l += cell;
      if (i + 1 < width.size()) l += std::string(width[i] - cell.size() + 3, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string ref_text(const portico::v1::ObjectRef& ref) {
  std::string s = ref.kind() + "/";
  if (!ref.namespace_().empty()) s += ref.namespace_() + "/";
  return s + ref.name();
}

std::string format_apply(const portico::v1::ApplyResponse& r, bool dry_run) {
  std::string out;
  const std::string suffix = dry_run ? " (dry run)\n" : "\n";
  for (const auto& ref : r.created()) out += ref_text(ref) + " created" + suffix;
  for (const auto& ref : r.configured()) out += ref_text(ref) + " configured" + suffix;
  for (const auto& ref : r.unchanged()) out += ref_text(ref) + " unchanged" + suffix;
  return out;
}

std::string format_apply_warnings(const portico::v1::ApplyResponse& r) {
  std::string out;
  for (const auto& w : r.warnings()) out += "Warning: " + w + "\n";
  return out;
}

namespace {

// The object's JSON, or an empty object when the server sent something unreadable.
Json parse_object(const Object& o) {
  Json j = Json::parse(o.json(), nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : Json::object();
}

// j[a][b]... or null, never throwing on a missing or mistyped step.
const Json& at(const Json& j, std::initializer_list<const char*> path) {
  static const Json null_json;
  const Json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return null_json;
    auto it = cur->find(key);
    if (it == cur->end()) return null_json;
    cur = &*it;
  }
  return *cur;
}

std::string scalar(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return j.dump();
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string or_none(const std::string& s) { return s.empty() ? "<none>" : s; }

// The status of condition `type` in a conditions array: "True", "False", "Unknown", or "" when
// absent.
std::string condition_status(const Json& conditions, const std::string& type) {
  if (!conditions.is_array()) return "";
  for (const Json& c : conditions)
    if (scalar(at(c, {"type"})) == type) return scalar(at(c, {"status"}));
  return "";
}

std::string service_external_ip(const Json& o) {
  std::vector<std::string> ips;
  const Json& ingress = at(o, {"status", "loadBalancer", "ingress"});
  if (ingress.is_array())
    for (const Json& i : ingress) {
      std::string ip = scalar(at(i, {"ip"}));
      if (ip.empty()) ip = scalar(at(i, {"hostname"}));
      if (!ip.empty()) ips.push_back(ip);
    }
  if (!ips.empty()) return join(ips, ",");
  return scalar(at(o, {"spec", "type"})) == "LoadBalancer" ? "<pending>" : "<none>";
}

std::string service_ports(const Json& o) {
  std::vector<std::string> ports;
  const Json& list = at(o, {"spec", "ports"});
  if (list.is_array())
    for (const Json& p : list) {
      std::string proto = scalar(at(p, {"protocol"}));
      ports.push_back(scalar(at(p, {"port"})) + "/" + (proto.empty() ? "TCP" : proto));
    }
  return or_none(join(ports, ","));
}

std::vector<std::string> strings_of(const Json& list) {
  std::vector<std::string> out;
  if (list.is_array())
    for (const Json& e : list) out.push_back(scalar(e));
  return out;
}

// HTTPRoute ACCEPTED: "True" when every parent accepted it, "False" when one did not, "Unknown"
// before any parent reported.
std::string route_accepted(const Json& o) {
  const Json& parents = at(o, {"status", "parents"});
  std::string verdict;
  if (parents.is_array())
    for (const Json& p : parents) {
      std::string s = condition_status(at(p, {"conditions"}), "Accepted");
      if (s != "True") return s.empty() ? "Unknown" : s;
      verdict = "True";
    }
  return verdict.empty() ? "Unknown" : verdict;
}

std::string name_of(const Object& o, const Json& j) {
  std::string n = o.ref().name();
  return n.empty() ? scalar(at(j, {"metadata", "name"})) : n;
}

std::string namespace_of(const Object& o, const Json& j) {
  std::string n = o.ref().namespace_();
  return n.empty() ? scalar(at(j, {"metadata", "namespace"})) : n;
}

}  // namespace

std::string object_name(const Object& o) { return name_of(o, parse_object(o)); }
std::string object_namespace(const Object& o) { return namespace_of(o, parse_object(o)); }

std::string format_object_table(const KindInfo& kind, const std::vector<Object>& objects,
                                bool all_namespaces) {
  if (objects.empty()) return "No resources found.\n";
  std::vector<std::string> header;
  const bool ns_column = all_namespaces && kind.namespaced;
  if (ns_column) header.push_back("NAMESPACE");
  header.push_back("NAME");
  const std::string& k = kind.kind;
  if (k == "Service") header.insert(header.end(), {"TYPE", "EXTERNAL-IP", "PORTS"});
  else if (k == "IPAddressPool") header.insert(header.end(), {"ADDRESSES", "AUTO-ASSIGN"});
  else if (k == "Gateway") header.insert(header.end(), {"CLASS", "ADDRESS", "PROGRAMMED"});
  else if (k == "HTTPRoute") header.insert(header.end(), {"HOSTNAMES", "ACCEPTED"});
  else if (k == "BGPPeer") header.insert(header.end(), {"ADDRESS", "MY-ASN", "PEER-ASN"});
  header.push_back("SOURCE");

  Table t(header);
  for (const Object& o : objects) {
    const Json j = parse_object(o);
    std::vector<std::string> row;
    if (ns_column) row.push_back(or_none(namespace_of(o, j)));
    row.push_back(name_of(o, j));
    if (k == "Service") {
      std::string type = scalar(at(j, {"spec", "type"}));
      row.insert(row.end(), {type.empty() ? "ClusterIP" : type, service_external_ip(j),
                             service_ports(j)});
    } else if (k == "IPAddressPool") {
      const Json& auto_assign = at(j, {"spec", "autoAssign"});
      row.insert(row.end(), {or_none(join(strings_of(at(j, {"spec", "addresses"})), ",")),
                             auto_assign.is_boolean() && !auto_assign.get<bool>() ? "false"
                                                                                  : "true"});
    } else if (k == "Gateway") {
      std::vector<std::string> addresses;
      const Json& list = at(j, {"status", "addresses"});
      if (list.is_array())
        for (const Json& a : list) addresses.push_back(scalar(at(a, {"value"})));
      std::string programmed = condition_status(at(j, {"status", "conditions"}), "Programmed");
      row.insert(row.end(), {or_none(scalar(at(j, {"spec", "gatewayClassName"}))),
                             or_none(join(addresses, ",")),
                             programmed.empty() ? "Unknown" : programmed});
    } else if (k == "HTTPRoute") {
      std::vector<std::string> hosts = strings_of(at(j, {"spec", "hostnames"}));
      row.insert(row.end(), {hosts.empty() ? "*" : join(hosts, ","), route_accepted(j)});
    } else if (k == "BGPPeer") {
      row.insert(row.end(), {or_none(scalar(at(j, {"spec", "peerAddress"}))),
                             or_none(scalar(at(j, {"spec", "myASN"}))),
                             or_none(scalar(at(j, {"spec", "peerASN"})))});
    }
    row.push_back(or_none(o.source()));
    t.add(std::move(row));
  }
  return t.render();
}

static Json list_of(const std::vector<Object>& objects) {
  Json items = Json::array();
  for (const Object& o : objects) {
    Json j = Json::parse(o.json(), nullptr, false);
    // Unreadable JSON stays visible as a string rather than vanishing from the list.
    items.push_back(j.is_discarded() ? Json(o.json()) : j);
  }
  return Json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

std::string format_objects_json(const std::vector<Object>& objects, bool single) {
  if (single && objects.size() == 1) {
    // As returned: the server's text, not a re-serialisation of it.
    std::string text = objects[0].json();
    if (text.empty() || text.back() != '\n') text += '\n';
    return text;
  }
  return list_of(objects).dump(2) + "\n";
}

std::string format_objects_yaml(const std::vector<Object>& objects, bool single) {
  if (single && objects.size() == 1) {
    Json j = Json::parse(objects[0].json(), nullptr, false);
    return json_to_yaml(j.is_discarded() ? Json(objects[0].json()) : j);
  }
  return json_to_yaml(list_of(objects));
}

// The YAML of `value` indented by `indent` spaces, for the blocks of `describe`.
static std::string indented_yaml(const Json& value, const std::string& indent) {
  std::istringstream in(json_to_yaml(value));
  std::string out, line;
  while (std::getline(in, line)) out += indent + line + "\n";
  return out;
}

static std::string map_lines(const Json& m, const std::string& label) {
  std::string out = label;
  if (!m.is_object() || m.empty()) return out + "<none>\n";
  bool first = true;
  for (auto it = m.begin(); it != m.end(); ++it) {
    out += (first ? "" : std::string(label.size(), ' ')) + it.key() + "=" + scalar(it.value()) +
           "\n";
    first = false;
  }
  return out;
}

static std::string indented_table(const Table& t) {
  std::istringstream in(t.render());
  std::string out, line;
  while (std::getline(in, line)) out += "  " + line + "\n";
  return out;
}

static void add_conditions(Table& t, const std::string& of, const Json& conditions) {
  if (!conditions.is_array()) return;
  for (const Json& c : conditions)
    t.add({of, scalar(at(c, {"type"})), scalar(at(c, {"status"})), scalar(at(c, {"reason"})),
           scalar(at(c, {"message"}))});
}

std::string format_describe(const Object& o) {
  const Json j = parse_object(o);
  std::string out;
  const std::string pad = "             ";  // values line up after "Annotations: "
  auto field = [&](const std::string& label, const std::string& value) {
    out += label + ":" + pad.substr(std::min(pad.size(), label.size() + 1)) + value + "\n";
  };
  field("Name", name_of(o, j));
  std::string ns = namespace_of(o, j);
  if (!ns.empty()) field("Namespace", ns);
  std::string kind = o.ref().kind().empty() ? scalar(at(j, {"kind"})) : o.ref().kind();
  std::string api = scalar(at(j, {"apiVersion"}));
  field("Kind", kind + (api.empty() ? "" : " (" + api + ")"));
  field("Source", or_none(o.source()));
  out += map_lines(at(j, {"metadata", "labels"}), "Labels:      ");
  out += map_lines(at(j, {"metadata", "annotations"}), "Annotations: ");

  // Whatever the object has besides the usual blocks (a Secret's redacted data, an
  // EndpointSlice's endpoints) is printed too: describe hides nothing the server sent.
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "apiVersion" || key == "kind" || key == "metadata" || key == "events") continue;
    Json value = it.value();
    if (key == "status" && value.is_object()) value.erase("conditions");
    if (value.is_object() && value.empty()) continue;
    std::string label = key;
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    out += label + ":\n" + indented_yaml(value, "  ");
  }

  Table conditions({"OF", "TYPE", "STATUS", "REASON", "MESSAGE"});
  add_conditions(conditions, kind, at(j, {"status", "conditions"}));
  const Json& listeners = at(j, {"status", "listeners"});
  if (listeners.is_array())
    for (const Json& l : listeners)
      add_conditions(conditions, "listener " + scalar(at(l, {"name"})), at(l, {"conditions"}));
  const Json& parents = at(j, {"status", "parents"});
  if (parents.is_array())
    for (const Json& p : parents) {
      std::string pns = scalar(at(p, {"parentRef", "namespace"}));
      add_conditions(conditions,
                     "parent " + (pns.empty() ? "" : pns + "/") +
                         scalar(at(p, {"parentRef", "name"})),
                     at(p, {"conditions"}));
    }
  if (conditions.empty()) field("Conditions", "<none>");
  else out += "Conditions:\n" + indented_table(conditions);

  Table events({"TYPE", "REASON", "MESSAGE"});
  const Json& ev = at(j, {"events"});
  if (ev.is_array())
    for (const Json& e : ev)
      events.add({scalar(at(e, {"type"})), scalar(at(e, {"reason"})), scalar(at(e, {"message"}))});
  if (events.empty()) field("Events", "<none>");
  else out += "Events:\n" + indented_table(events);
  return out;
}

}  // namespace porticoctl
