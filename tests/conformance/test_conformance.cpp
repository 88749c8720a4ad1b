// Every ONNX backend test case listed in manifest.txt (the cases whose ops monoquant supports)
// must pass. scripts/update_conformance.sh regenerates the manifest.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "conformance.h"

TEST_CASE("ONNX backend conformance: every supported case passes") {
  using namespace mq::conformance;
  std::ifstream in(std::string(MQ_SOURCE_DIR) + "/tests/conformance/manifest.txt");
  REQUIRE(in);
  REQUIRE(std::filesystem::exists(kDataRoot));
  std::string line;
  int passed = 0, listed = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++listed;
    CaseResult r = run_case(std::string(kDataRoot) + "/" + line);
    INFO(line, ": ", r.detail);
    CHECK(r.status == Status::pass);
    passed += r.status == Status::pass;
  }
  MESSAGE("conformance: ", passed, " of ", listed, " listed cases passed");
  CHECK(listed > 0);
}
