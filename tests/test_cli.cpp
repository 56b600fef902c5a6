// The skinnet command line as a user meets it: exit codes, flag spellings, --version, bash completion,
// train's shorthands and log formats, output order in a log file, and docs/cli.md against the flag tables.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/support.h"

namespace nn {
namespace {

namespace fs = std::filesystem;
using test::build_dir;
using test::Capture;
using test::CommandResult;
using test::run_command;

std::string cli() { return build_dir() + "/skinnet"; }

// The commands `skinnet --help` lists.
std::vector<std::string> command_names() {
  const CommandResult r = run_command(cli() + " --help");
  REQUIRE(r.status == 0);
  std::vector<std::string> names;
  std::istringstream in(r.output.substr(r.output.find("commands:")));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex("  ([a-z-]+) +.*"))) names.push_back(m[1]);
  }
  return names;
}

// The flags (with their aliases) `skinnet COMMAND --help` lists in its table.
std::vector<std::string> flags_of(const std::string& command) {
  const CommandResult r = run_command(cli() + " " + command + " --help");
  REQUIRE_MESSAGE(r.status == 0, command);
  std::vector<std::string> flags;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  --", 0) != 0) continue;
    const std::string names = line.substr(2, line.find("  ", 2) - 2);
    static const std::regex flag("--([a-z0-9_.-]+)");
    for (std::sregex_iterator it(names.begin(), names.end(), flag), end; it != end; ++it) flags.push_back((*it)[1]);
  }
  return flags;
}

TEST_SUITE("cli") {
  TEST_CASE("cli: exit codes are 0 for success, 1 when the work fails, 2 for a usage error") {
    const test::TempDir dir("cli-exit");
    const std::string missing = dir / "missing.safetensors";
    struct Case {
      std::string args;
      int status;
      std::string says;
    };
    const std::vector<Case> cases = {
        {"", 2, "usage: skinnet COMMAND"},
        {"--help", 0, "exit codes: 0 success, 1 the work failed, 2 usage error"},
        {"frobnicate", 2, "unknown command 'frobnicate'"},
        {"predict --frobnicate a.png", 2, "usage error: unknown flag --frobnicate"},
        {"predict -x a.png", 2, "unknown option -x"},
        {"predict --top", 2, "flag --top needs a value"},
        {"predict --arch resnet18 --weights w --top=many a.png", 2, "--top=many is not an integer"},
        {"predict --json=maybe --arch resnet18 --weights w a.png", 2, "--json=maybe is not true or false"},
        {"predict --arch resnet18 --weights " + missing, 2, "no images given"},
        {"eval --data somewhere", 2, "--checkpoint is required"},
        {"summary --arch resnet18 --input-size 0", 2, "must be positive"},
        {"summary --arch resnet19", 2, "--arch resnet19 is not one of vgg11"},
        {"train --data.batch_size=eight", 2, "--data.batch_size"},
        {"train --frobnicate.key=1", 2, "unknown flag --frobnicate.key"},
        {"train --log-format yaml", 2, "not a log format"},
        {"train --quiet --log-format json", 2, "not both"},
        {"predict --checkpoint " + missing + " a.png", 1, missing},
        {"train --data " + (dir / "nothing-here") + " --out " + (dir / "run"), 1, "nothing-here"},
        {"summary --arch resnet18 --input-size 32", 0, "resnet18"},
    };
    for (const Case& c : cases) {
      const CommandResult r = run_command(cli() + " " + c.args, Capture::stdout_and_stderr);
      CAPTURE(c.args);
      CHECK(r.status == c.status);
      CHECK_MESSAGE(r.output.find(c.says) != std::string::npos, r.output);
    }
  }

  TEST_CASE("cli: --flag value, --flag=value, - or _ in names and the shared aliases mean the same") {
    const std::string expected = run_command(cli() + " summary --arch resnet18 --input-size 48 --batch-size 2").output;
    REQUIRE(expected.find("resnet18") != std::string::npos);
    for (const char* args : {"--arch=resnet18 --input-size=48 --batch-size=2", "--arch resnet18 --input_size 48 --batch_size 2",
                                    "--arch=resnet18 --input 48 --batch=2"}) {
      const CommandResult r = run_command(cli() + " summary " + args);
      CAPTURE(args);
      CHECK(r.status == 0);
      CHECK(r.output == expected);
    }
    // Every command that sizes batches or inputs spells it --batch-size / --input-size (--batch / --input too).
    for (const std::string& command : command_names()) {
      const std::vector<std::string> f = flags_of(command);
      const bool has_batch = std::find(f.begin(), f.end(), "batch") != f.end();
      const bool has_batch_size = std::find(f.begin(), f.end(), "batch-size") != f.end();
      CAPTURE(command);
      CHECK(has_batch == has_batch_size);  // --batch only ever as the alias of --batch-size
      const bool has_input = std::find(f.begin(), f.end(), "input") != f.end();
      CHECK(has_input == (std::find(f.begin(), f.end(), "input-size") != f.end()));
    }
  }

  TEST_CASE("cli: skinnet --version and skinnet version say the version, commit, build, CPU features and kernels") {
    const CommandResult a = run_command(cli() + " --version"), b = run_command(cli() + " version");
    REQUIRE(a.status == 0);
    CHECK(a.output == b.output);
    CHECK(std::regex_search(a.output, std::regex(R"(^skinnet \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}(-dirty)?\)\n)")));
    CHECK(std::regex_search(a.output, std::regex(R"(\nbuild: +g\+\+ .*CUDA (on|off).*SANITIZE (on|off))")));
    CHECK(std::regex_search(a.output, std::regex(R"(\ncpu: +.*features)")));
    CHECK(std::regex_search(a.output, std::regex(R"(\nkernels: .*OpenBLAS.*core \w+)")));
  }

  TEST_CASE("cli: the bash completion script completes commands, flags, config keys and architectures") {
    const test::TempDir dir("cli-completion");
    const std::string script = dir / "skinnet.bash";
    REQUIRE(run_command(cli() + " completion > " + script).status == 0);
    REQUIRE(run_command("bash -n " + script).status == 0);
    // COMP_WORDS as bash splits the line; the completion function fills COMPREPLY.
    auto complete = [&](const std::string& words) {
      const CommandResult r = run_command("bash -c 'source " + script + "; COMP_WORDS=(" + words +
                                          "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _skinnet; echo \"${COMPREPLY[*]}\"'");
      REQUIRE(r.status == 0);
      return r.output.substr(0, r.output.find('\n'));
    };
    CHECK(complete("skinnet exp") == "explain export");
    CHECK(complete("skinnet expo") == "export");
    CHECK(complete("skinnet export --fu") == "--fuse-bn");
    CHECK(complete("skinnet train --data.batch") == "--data.batch_size");
    CHECK(complete("skinnet train --epo") == "--epochs");
    CHECK(complete("skinnet predict --arch resnet1") == "resnet18 resnet101 resnet152 resnet101_v1 resnet152_v1");
    CHECK(complete("skinnet predict --arch incep") == "inception_v3 inception_resnet_v2");
    CHECK(complete("skinnet train --log-format j") == "json");
  }

  TEST_CASE("cli: train's shorthands, --log-format json events, --quiet, and output in order in a log file") {
    const test::TempDir dir("cli-train");
    const std::string data = dir / "data";
    REQUIRE(run_command(cli() + " synth --out " + data + " --images 42 --width 48 --height 36").status == 0);
    // The demo's two-stage recipe, shortened by shorthands: --epochs is the last stage's.
    const std::string common = " --config configs/resnet18-synthetic.toml --data " + data +
                               " --arch resnet18 --epochs 1 --batch-size 8 --lr 0.002 --workers 1 --seed 4"
                               " --model.input_size=32 --checkpoint.precise_bn_batches=1 --data.cache none";

    const CommandResult json = run_command(cli() + " train" + common + " --out " + (dir / "runs/json") + " --log-format json");
    REQUIRE_MESSAGE(json.status == 0, json.output);
    std::vector<std::string> events;
    std::map<std::string, nlohmann::json> last;
    std::istringstream lines(json.output);
    for (std::string line; std::getline(lines, line);) {
      const nlohmann::json j = nlohmann::json::parse(line);  // every stdout line is one JSON object
      events.push_back(j.at("event"));
      last[j.at("event")] = j;
    }
    CHECK(events.front() == "config");
    CHECK(events.back() == "done");
    CHECK(std::count(events.begin(), events.end(), "stage") == 2);
    CHECK(std::count(events.begin(), events.end(), "epoch") == 2);  // stage 1 (the file's 1) + stage 2 (--epochs 1)
    CHECK(std::count(events.begin(), events.end(), "checkpoint") >= 2);
    const std::string toml = last["config"]["toml"];
    CHECK(toml.find("path = \"" + data + "\"") != std::string::npos);
    CHECK(toml.find("batch_size = 8") != std::string::npos);
    CHECK(toml.find("seed = 4") != std::string::npos);
    CHECK(toml.find("[[stage]]\nepochs = 1\ntrain = [\"all\"]\nlr = 0.002") != std::string::npos);  // the last stage
    CHECK(last["config"]["runs_dir"] == (dir / "runs"));
    CHECK(last["config"]["name"] == "json");
    CHECK(last["epoch"]["epoch"] == 2);
    CHECK(last["test"].contains("balanced_accuracy"));
    CHECK(last["done"]["run_dir"] == (dir / "runs/json"));
    CHECK(fs::exists(dir / "runs/json/report.html"));

    const CommandResult quiet = run_command(cli() + " train" + common + " --out " + (dir / "runs/quiet") + " --quiet");
    CHECK(quiet.status == 0);
    CHECK(quiet.output.empty());  // stdout: nothing; the run folder has it all
    CHECK(fs::exists(dir / "runs/quiet/metrics.json"));

    // Text into a file, stdout and stderr together: the resolved config (stdout) comes before the first
    // progress line (stderr), and each epoch's summary after its progress line: line-buffered stdout.
    const std::string log = dir / "train.log";
    REQUIRE(run_command(cli() + " train" + common + " --out " + (dir / "runs/text") + " > " + log + " 2>&1").status == 0);
    const std::string text = test::read_file(log);
    const size_t config = text.find("config configs/resnet18-synthetic.toml:"), progress = text.find(" batches ");
    const size_t summary = text.find("epoch 1/2  train loss"), test = text.find("\ntest (");
    REQUIRE(config != std::string::npos);
    REQUIRE(progress != std::string::npos);
    REQUIRE(summary != std::string::npos);
    REQUIRE(test != std::string::npos);
    CHECK(config < progress);
    CHECK(progress < summary);
    CHECK(test > summary);
  }

  TEST_CASE("cli: docs/cli.md documents every command and every flag of each") {
    const std::string doc = test::read_file("docs/cli.md");
    for (const std::string& command : command_names()) {
      CAPTURE(command);
      const size_t at = doc.find("\n## skinnet " + command + "\n");
      REQUIRE(at != std::string::npos);
      const size_t end = doc.find("\n## ", at + 1);
      const std::string section = doc.substr(at, end == std::string::npos ? std::string::npos : end - at);
      for (const std::string& f : flags_of(command)) {
        if (f.find('.') != std::string::npos) continue;  // train's config keys: docs/training.md lists them
        CAPTURE(f);
        CHECK(section.find("--" + f) != std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace nn
