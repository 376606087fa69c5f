import assert from "node:assert/strict";
import { defaultAttr, FormatError, SampleType } from "../abi/mod.ts";
import {
  decodeBuildIds,
  decodeEventDesc,
  decodeGroupDesc,
  decodeNrCpus,
  decodeSampleTime,
  decodeStringFeature,
  decodeStringList,
  encodeBuildIds,
  encodeEventDesc,
  encodeNrCpus,
  encodeSampleTime,
  encodeStringFeature,
  encodeStringList,
  FeatureCursor,
  NAME_ALIGN,
} from "./features.ts";

function cursor(bytes: Uint8Array): FeatureCursor {
  return new FeatureCursor(new DataView(bytes.buffer), 0, bytes.length, 1000, "TEST");
}

Deno.test("features: strings are u32 len + NUL padding to 64, like perf's do_write_string", () => {
  const bytes = encodeStringFeature("vm");
  assert.equal(bytes.length, 4 + NAME_ALIGN);
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), 64);
  assert.equal(decodeStringFeature(cursor(bytes)), "vm");
  assert.equal(encodeStringFeature("x".repeat(64)).length, 4 + 128);
});

Deno.test("features: string list, nrcpus, sample time round trip", () => {
  const argv = ["/usr/bin/perf", "record", "-g", "--", "sleep 1"];
  assert.deepEqual(decodeStringList(cursor(encodeStringList(argv))), argv);
  assert.deepEqual(decodeNrCpus(cursor(encodeNrCpus(8, 4))), { available: 8, online: 4 });
  assert.deepEqual(decodeSampleTime(cursor(encodeSampleTime(5, 2 ** 40))), {
    first: 5,
    last: 2 ** 40,
  });
});

Deno.test("features: EVENT_DESC round trip keeps names, ids and attrs", () => {
  const attr = defaultAttr({ type: 1, sampleType: SampleType.IP | SampleType.ID, samplePeriod: 9 });
  const descs = [
    { attr, name: "cpu-clock", ids: [1, 2, 3] },
    { attr: { ...attr, config: 9n }, name: "dummy:HG", ids: [] },
  ];
  const got = decodeEventDesc(cursor(encodeEventDesc(descs)));
  assert.deepEqual(got.map((d) => [d.name, d.ids, d.attr.config, d.attr.sampleType]), [
    ["cpu-clock", [1, 2, 3], 0n, SampleType.IP | SampleType.ID],
    ["dummy:HG", [], 9n, SampleType.IP | SampleType.ID],
  ]);
});

Deno.test("features: BUILD_ID round trip with the size byte", () => {
  const entries = [
    {
      pid: -1,
      filename: "[kernel.kallsyms]",
      buildId: "4a5a9b0affb66c437abcd455d2738af879985fa9",
      misc: 1,
    },
    { pid: -1, filename: "/bin/short", buildId: "0102030405060708", misc: 2 },
  ];
  const got = decodeBuildIds(cursor(encodeBuildIds(entries)));
  assert.deepEqual(got.map((e) => [e.pid, e.filename, e.buildId, e.misc & 7]), [
    [-1, "[kernel.kallsyms]", entries[0]!.buildId, 1],
    [-1, "/bin/short", "0102030405060708", 2],
  ]);
});

Deno.test("features: lying counts are FormatErrors with the file offset, not allocations", () => {
  const list = encodeStringList(["a", "b"]);
  new DataView(list.buffer).setUint32(0, 0x7fffffff, true);
  assert.throws(() => decodeStringList(cursor(list)), FormatError);
  const str = encodeStringFeature("host");
  new DataView(str.buffer).setUint32(0, 1 << 30, true);
  assert.throws(
    () => decodeStringFeature(cursor(str)),
    (e: unknown) => e instanceof FormatError && e.offset === 1004 && /TEST/.test(e.message),
  );
  const desc = encodeEventDesc([{ attr: defaultAttr(), name: "x", ids: [1] }]);
  new DataView(desc.buffer).setUint32(0, 1e6, true);
  assert.throws(() => decodeEventDesc(cursor(desc)), /1000000 events/);
});

Deno.test("features: GROUP_DESC is u32 nr, then {string name, u32 leader, u32 members}", () => {
  const name = encodeStringFeature("anon_group");
  const bytes = new Uint8Array(4 + name.length + 8);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 1, true);
  bytes.set(name, 4);
  v.setUint32(4 + name.length, 2, true);
  v.setUint32(8 + name.length, 3, true);
  assert.deepEqual(decodeGroupDesc(cursor(bytes)), [{ name: "anon_group", leader: 2, members: 3 }]);
  // a count the payload cannot hold is refused before anything is read
  v.setUint32(0, 1000, true);
  assert.throws(() => decodeGroupDesc(cursor(bytes)), FormatError);
});
