// isrguard entry point. Wiring only: parse config, build the source, loop and HTTP server, run until signalled.
#include <cstdio>
#include <iostream>

#include "service/config.h"

int main(int argc, char** argv) {
  using namespace isrguard::service;
  ParseOutcome parsed = parse_config(argc, argv);
  if (parsed.exit_now) {
    std::cout << parsed.output;
    return parsed.exit_code;
  }
  if (!parsed.config) {
    for (const auto& e : parsed.errors) std::cerr << "isrguard: " << e << "\n";
    std::cerr << "isrguard: invalid configuration; see --help\n";
    return 2;
  }
  std::cerr << "isrguard: service wiring not yet in place\n";
  return 2;
}
