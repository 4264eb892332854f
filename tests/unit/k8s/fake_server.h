// What the in-memory fake API servers of the k8s unit tests share: the requests they were sent,
// Status answers as a real server words them, and no watches (the parts tested never stream).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/k8s/transport.h"

namespace control::k8s::testing {

class RecordingServer : public Transport {
 public:
  std::vector<Request> requests;

  Response stream(const std::string&, const std::function<bool(std::string_view)>&,
                  const std::atomic<bool>*, std::chrono::seconds) override {
    ADD_FAILURE() << "this part never watches";
    return {};
  }
  // A failure answer with its Status body (kind Status, reason, code).
  static Response status(int code, const std::string& reason) {
    return {code,
            nlohmann::json{{"kind", "Status"},
                           {"status", "Failure"},
                           {"reason", reason},
                           {"message", "fake " + reason},
                           {"code", code}}
                .dump(),
            "", ""};
  }
  size_t count(const std::string& method) const {
    size_t n = 0;
    for (const auto& r : requests) n += r.method == method;
    return n;
  }
};

}  // namespace control::k8s::testing
