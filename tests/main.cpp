// The test binary's main: doctest, plus a listener that counts test cases per tier (doctest test
// suite) and prints `test-summary: passed=N failed=M` for tools/run_tests.sh.
//
// Tiers (docs/testing.md): known (hand-computed answers), gradcheck (float64 finite differences),
// torch (PyTorch references), kernels (fast kernels vs reference loops), autograd, tensor, errors, model.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "kernels/gemm.h"

namespace {

struct Counts {
  int passed = 0, failed = 0;
};
std::map<std::string, Counts> g_tiers;
std::mutex g_mutex;

struct TierListener : doctest::IReporter {
  explicit TierListener(const doctest::ContextOptions&) {}
  const doctest::TestCaseData* current = nullptr;

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& tc) override { current = &tc; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    std::lock_guard lock(g_mutex);
    const std::string tier = current && current->m_test_suite && *current->m_test_suite ? current->m_test_suite : "other";
    Counts& c = g_tiers[tier];
    (stats.testCaseSuccess ? c.passed : c.failed)++;
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("tiers", 1, TierListener);

int main(int argc, char** argv) {
  nn::select_openblas_kernels(argv, "skinnet_tests");
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;
  int passed = 0, failed = 0;
  std::printf("\n%-12s %7s %7s\n", "tier", "passed", "failed");
  for (const auto& [tier, c] : g_tiers) {
    std::printf("%-12s %7d %7d\n", tier.c_str(), c.passed, c.failed);
    passed += c.passed;
    failed += c.failed;
  }
  std::printf("test-summary: passed=%d failed=%d\n", passed, failed);
  return result;
}
