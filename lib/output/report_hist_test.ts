import assert from "node:assert/strict";
import { dsoShortName } from "./report_hist.ts";

Deno.test("dsoShortName: perf's dso short names (basename, modules, JIT maps)", () => {
  assert.equal(dsoShortName(undefined), "[unknown]");
  assert.equal(dsoShortName("[kernel.kallsyms]"), "[kernel.kallsyms]");
  assert.equal(dsoShortName("/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
  // machine__addnew_module_map: the module name, '-' as '_'
  assert.equal(
    dsoShortName("/lib/modules/3.8.11/kernel/net/mac80211-3.4/mac80211.ko"),
    "[mac80211]",
  );
  assert.equal(dsoShortName("/lib/modules/6.1.0/kernel/kvm-intel.ko.xz"), "[kvm_intel]");
  // dso__set_basename: sscanf "/tmp/perf-%d.map"
  assert.equal(dsoShortName("/tmp/perf-18548.map"), "[JIT] tid 18548");
  assert.equal(dsoShortName("/tmp/perf-7"), "[JIT] tid 7");
  assert.equal(dsoShortName("/tmp/perf-x.map"), "perf-x.map");
  assert.equal(dsoShortName("/opt/perf-1.map"), "perf-1.map");
});
