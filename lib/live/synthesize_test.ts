import assert from "node:assert/strict";
import { MISC_MMAP_BUILD_ID, RecordType } from "../abi/mod.ts";
import {
  kernelMapRecord,
  mmapRecordsOf,
  parseCpuList,
  parseProcMaps,
  synthesizeProcesses,
} from "./synthesize.ts";

const MAPS = `55d4c0a00000-55d4c0a01000 r--p 00000000 08:01 1234   /tmp/w/burn
55d4c0a01000-55d4c0a02000 r-xp 00001000 08:01 1234   /tmp/w/burn
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0
7f1e2d028000-7f1e2d1bd000 r-xp 00028000 fe:00 525    /usr/lib/libc.so.6
7ffd3b7f0000-7ffd3b7f2000 r-xp 00000000 00:00 0      [vdso]
7f1e2e000000-7f1e2e001000 rwxp 00000000 00:00 0
garbage line
`;

Deno.test("parseProcMaps reads every field of /proc/PID/maps lines", () => {
  const m = parseProcMaps(MAPS);
  assert.equal(m.length, 6);
  assert.deepEqual(m[1], {
    start: 0x55d4c0a01000n,
    end: 0x55d4c0a02000n,
    perms: "r-xp",
    pgoff: 0x1000n,
    maj: 8,
    min: 1,
    ino: 1234n,
    path: "/tmp/w/burn",
  });
  assert.equal(m[3]!.maj, 0xfe);
  assert.equal(m[2]!.path, "");
});

Deno.test("mmapRecordsOf: executable maps only, build ids where readable, //anon", () => {
  const asked: string[] = [];
  const recs = mmapRecordsOf(42, parseProcMaps(MAPS), (p) => {
    asked.push(p);
    return p === "/tmp/w/burn" ? "00112233445566778899aabbccddeeff00112233" : undefined;
  });
  assert.deepEqual(recs.map((r) => r.filename), [
    "/tmp/w/burn",
    "/usr/lib/libc.so.6",
    "[vdso]",
    "//anon",
  ]);
  assert.deepEqual(asked, ["/tmp/w/burn", "/usr/lib/libc.so.6"]);
  const burn = recs[0]!;
  assert.equal(burn.type, RecordType.MMAP2);
  assert.equal(burn.pid, 42);
  assert.equal(burn.tid, 42);
  assert.equal(burn.len, 0x1000n);
  assert.equal(burn.pgoff, 0x1000n);
  assert.equal(burn.prot, 5);
  assert.equal(burn.flags, 2);
  assert.equal(burn.misc, 2 | MISC_MMAP_BUILD_ID);
  assert.equal(burn.buildId!.length, 20);
  assert.equal(burn.buildId![19], 0x33);
  const libc = recs[1]!;
  assert.equal(libc.misc, 2);
  assert.equal(libc.buildId, undefined);
  assert.equal(libc.maj, 0xfe);
  assert.equal(libc.ino, 525n);
});

Deno.test("synthesizeProcesses: a COMM per thread and the maps of each process", () => {
  const root = Deno.makeTempDirSync();
  try {
    for (const [pid, tids] of [[7, [7, 9]], [12, [12]]] as const) {
      Deno.mkdirSync(`${root}/${pid}/task`, { recursive: true });
      Deno.writeTextFileSync(`${root}/${pid}/maps`, MAPS);
      for (const tid of tids) {
        Deno.mkdirSync(`${root}/${pid}/task/${tid}`);
        Deno.writeTextFileSync(`${root}/${pid}/task/${tid}/comm`, `t ${tid}\n`);
      }
    }
    Deno.mkdirSync(`${root}/self`);
    const { records, stats } = synthesizeProcesses("all", undefined, root);
    assert.deepEqual(stats, { processes: 2, threads: 3, vanished: 0 });
    const comms = records.filter((r) => r.type === RecordType.COMM);
    assert.deepEqual(comms.map((c) => "comm" in c && [c.pid, c.tid, c.comm]), [
      [7, 7, "t 7"],
      [7, 9, "t 9"],
      [12, 12, "t 12"],
    ]);
    assert.equal(records.filter((r) => r.type === RecordType.MMAP2).length, 8);
    const gone = synthesizeProcesses([99], undefined, root);
    assert.deepEqual(gone.stats, { processes: 0, threads: 0, vanished: 1 });
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("parseCpuList and the kernel map at _text", () => {
  assert.deepEqual(parseCpuList("0-3,5\n"), [0, 1, 2, 3, 5]);
  assert.deepEqual(parseCpuList("2,1,2"), [1, 2]);
  assert.throws(() => parseCpuList("a-b"), RangeError);
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/k`,
      "ffffffff81000000 T startup_64\nffffffff81000000 T _text\nffffffff81001000 t x\n",
    );
    const rec = kernelMapRecord(`${dir}/k`);
    assert.ok(rec && rec.type === RecordType.MMAP && "filename" in rec);
    assert.equal(rec.filename, "[kernel.kallsyms]_text");
    assert.equal(rec.pgoff, 0xffffffff81000000n);
    Deno.writeTextFileSync(`${dir}/k`, "0000000000000000 T _text\n");
    assert.equal(kernelMapRecord(`${dir}/k`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
