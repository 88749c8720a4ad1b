// conformance_scan: runs every ONNX backend test case under the Debian test data and prints
// one line per case: PASS, UNSUPPORTED or FAIL with the reason. scripts/update_conformance.sh
// turns this into tests/conformance/manifest.txt and docs/conformance.md.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <vector>

#include "conformance.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace mq::conformance;
  std::string root = argc > 1 ? argv[1] : kDataRoot;
  std::vector<std::string> cases;
  for (const char* sub : {"node", "pytorch-converted", "pytorch-operator"}) {
    fs::path d = fs::path(root) / sub;
    if (!fs::exists(d)) continue;
    for (auto& e : fs::directory_iterator(d))
      if (fs::exists(e.path() / "model.onnx"))
        cases.push_back(std::string(sub) + "/" + e.path().filename().string());
  }
  std::sort(cases.begin(), cases.end());
  for (auto& c : cases) {
    CaseResult r = run_case(root + "/" + c);
    const char* s = r.status == Status::pass ? "PASS" : r.status == Status::unsupported ? "UNSUPPORTED" : "FAIL";
    std::string detail = r.detail;
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    std::cout << s << "\t" << c << "\t" << detail << "\n" << std::flush;
  }
}
