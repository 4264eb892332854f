// libFuzzer target: any text given as a configuration file is either refused with diagnostics
// or loaded and planned (IPAM + L2 plan); nothing may throw, crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"
#include "control/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const config::LoadResult r = config::load_text(text, "fuzz.yaml");
  if (r.ok()) {
    const config::NodeConfig* node =
        r.objects.node_configs.empty() ? nullptr : &r.objects.node_configs[0];
    (void)control::make_plan(r.objects, node, {});
  }
  return 0;
}
