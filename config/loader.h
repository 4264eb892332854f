// Loading configuration files into typed objects.
//
// `load` reads YAML files (multi-document) and directories of them (*.yaml, *.yml, sorted by
// name, not recursive), turns every document into a typed object of config/objects.h and
// validates each one as the API server or MetalLB's admission webhook would (names, required
// fields, syntax of addresses and selectors, cross-object rules such as overlapping pools).
// Nothing here touches DPDK or the network; the control thread calls it at start-up and on
// every reload, and `portico check` calls it directly.
#pragma once

#include <string>
#include <vector>

#include "config/objects.h"

namespace config {

struct Diagnostic {
  std::string file;
  int line = 0;        // 1-based; 0 when the problem is not tied to a line
  std::string object;  // "Kind/namespace/name", "Kind/name", or "" (syntax errors)
  std::string message;
  // "file:line: object: message" (parts omitted when empty), the form every error is printed in.
  std::string str() const;
};

struct LoadResult {
  ObjectSet objects;
  std::vector<Diagnostic> errors;    // the input would be refused: nothing of it may be used
  std::vector<Diagnostic> warnings;  // accepted, but worth saying (unknown kinds, deprecations)
  bool ok() const { return errors.empty(); }
};

// Loads and validates every path (file or directory). Never throws: I/O and YAML problems
// become errors with the file and line.
LoadResult load(const std::vector<std::string>& paths);

// Same, from text already in memory (tests, and later the gRPC Apply path). `name` is used as
// the file name in diagnostics.
LoadResult load_text(const std::string& text, const std::string& name);

// One text to load, under the name diagnostics give it ("FILE" or "<apply>").
struct SourceText {
  std::string name;
  std::string text;
};

// Same, from several texts validated together as one configuration (the API's object store:
// configuration files as last read, objects kept in the state directory, a request's documents).
LoadResult load_texts(const std::vector<SourceText>& texts);

}  // namespace config
