// porticoctl: command-line client of Portico's gRPC API (proto/portico/v1/portico.proto). All
// the work is in commands.cc; see `porticoctl --help` and docs/operations.md.
#include "control/porticoctl/commands.h"

int main(int argc, char** argv) {
  porticoctl::Io io = porticoctl::process_io();
  return porticoctl::run(std::vector<std::string>(argv + 1, argv + argc), io);
}
