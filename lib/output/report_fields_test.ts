import assert from "node:assert/strict";
import { parseFields, type ReportField, reportLayout } from "./report_fields.ts";
import { ReportOptionError } from "./report_hist.ts";

const names = (fs: readonly ReportField[]) => fs.map((f) => "hpp" in f ? f.hpp : f.key);

Deno.test("parseFields: perf's prefix matching, sort keys before overhead columns, once each", () => {
  assert.deepEqual(names(parseFields("s,sa,p,pe,o,overhead_s,symbol,SYM").fields), [
    "sym",
    "sample",
    "pid",
    "period",
    "overhead",
    "overhead_sys",
  ]);
  assert.equal(parseFields("+period").append, true);
  assert.throws(() => parseFields("bogus"), ReportOptionError);
  assert.throws(() => parseFields("+"), /Invalid --fields key: `\+'/);
  assert.throws(() => parseFields("srcline"), /not printed by callring/);
});

Deno.test("reportLayout: perf's columns and sort list for -F, +F, -s and the defaults", () => {
  const sort = ["comm", "dso", "sym"] as const;
  const def = reportLayout({ sort, children: true, showSamples: true });
  assert.deepEqual(names(def.columns), [
    "overhead_children",
    "overhead",
    "sample",
    "comm",
    "dso",
    "sym",
  ]);
  assert.deepEqual(names(def.sorts), [
    "overhead_children",
    "overhead",
    "comm",
    "dso",
    "sym",
    "sample",
  ]);
  assert.equal(def.selfName, true);
  // strict -F without -s: only its own keys, its order is the sort order
  const strict = reportLayout({ fields: parseFields("sym,overhead"), sort, children: true });
  assert.deepEqual(names(strict.columns), ["sym", "overhead"]);
  assert.deepEqual(names(strict.sorts), ["sym", "overhead"]);
  assert.deepEqual(strict.keys, ["sym"]);
  assert.equal(strict.selfName, false);
  // strict -F with -s: the -s keys sort first and are appended to the columns
  const withSort = reportLayout({
    fields: parseFields("overhead,sym"),
    sort: ["dso"],
    sortGiven: true,
  });
  assert.deepEqual(names(withSort.columns), ["overhead", "sym", "dso"]);
  assert.deepEqual(names(withSort.sorts), ["dso", "overhead", "sym"]);
  // +F: default columns, the fields, then the sort keys not among them
  const plus = reportLayout({ fields: parseFields("+sym,period"), sort, children: false });
  assert.deepEqual(names(plus.columns), ["overhead", "sym", "period", "comm", "dso"]);
  assert.deepEqual(names(plus.sorts), ["overhead", "comm", "dso", "sym", "period"]);
});
