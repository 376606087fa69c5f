import assert from "node:assert/strict";
import { hasTimeOptions, ScriptClock, ScriptTimeOptionError } from "./script_time.ts";

Deno.test("ScriptClock prints perf's --ns, --reltime and --deltatime columns", () => {
  const ns = new ScriptClock({ ns: true });
  assert.equal(ns.text(12_000_000_123), "   12.000000123: ");
  assert.equal(ns.text(123_456_000_000_001), "123456.000000001: ");
  const rel = new ScriptClock({ reltime: true });
  assert.equal(rel.text(5_000_000_000), "    0.000000: ");
  assert.equal(rel.text(5_001_234_999), "    0.001234: ");
  const delta = new ScriptClock({ deltatime: true, ns: true });
  assert.equal(delta.text(7_000_000_000), "    0.000000000: ");
  assert.equal(delta.text(7_000_000_500), "    0.000000500: ");
  assert.equal(delta.text(9_000_000_500), "    2.000000000: ");
  assert.throws(() => new ScriptClock({ reltime: true, deltatime: true }), ScriptTimeOptionError);
  assert.equal(hasTimeOptions({}), false);
  assert.equal(hasTimeOptions({ ns: true }), true);
});
