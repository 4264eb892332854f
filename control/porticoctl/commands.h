// porticoctl: the commands. run() is the whole program behind main(): it parses argv, talks to
// the API and prints; main.cc only hands it the process's streams, environment and clock, so
// tests run the real command code with their own (tests/unit/ctl/).
//
// Exit codes: 0 ok; 1 the server refused ("Error from server (CODE): message"); 2 usage error
// (also a bad address or unreadable input file); 3 the API cannot be reached.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "control/porticoctl/address.h"

namespace porticoctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct Io {
  std::istream& in;    // `apply -f -`
  std::ostream& out;
  std::ostream& err;
  Getenv getenv;                          // PORTICO_API, PORTICO_TLS_*
  std::function<void(double)> sleep;      // seconds, for `top`
  std::function<double()> now;            // monotonic seconds, for `top`
};

// Io on std::cin/cout/cerr, the process environment and the steady clock.
Io process_io();

// args without the program name.
int run(const std::vector<std::string>& args, Io& io);

}  // namespace porticoctl
