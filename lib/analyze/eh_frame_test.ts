import assert from "node:assert/strict";
import {
  ByteCursor,
  CfiError,
  CfiTable,
  computeRow,
  evaluateExpression,
  ExpressionError,
  parseEhFrameHdr,
} from "./eh_frame.ts";

/** Little-endian byte assembler for hand-built CFI. */
class Bytes {
  readonly out: number[] = [];
  u8(...v: number[]): this {
    this.out.push(...v.map((x) => x & 0xff));
    return this;
  }
  u32(v: number): this {
    return this.u8(v, v >> 8, v >> 16, v >>> 24);
  }
  get length(): number {
    return this.out.length;
  }
}

/**
 * .eh_frame at `address`: one CIE ("zR", pcrel|sdata4, code 1, data -8,
 * RA 16, initial `def_cfa rsp 8; offset r16 at cfa-8`) and one FDE per
 * (start, length, instructions) entry, then a zero terminator.
 */
function ehFrame(address: number, fdes: [number, number, number[]][]): Uint8Array {
  const b = new Bytes();
  const cieBody = [1, 0x7a, 0x52, 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1];
  while ((cieBody.length + 4) % 8 !== 0) cieBody.push(0);
  b.u32(cieBody.length + 4).u32(0).u8(...cieBody);
  for (const [start, length, insns] of fdes) {
    const fdeStart = b.length;
    const body = new Bytes();
    body.u32(0); // placeholder for the CIE pointer
    const pcAt = fdeStart + 8;
    body.u32(start - (address + pcAt)).u32(length).u8(0).u8(...insns);
    while ((body.length + 4) % 8 !== 0) body.u8(0);
    const bytes = body.out;
    const ciePointer = fdeStart + 4; // distance back to offset 0
    bytes.splice(0, 4, ciePointer & 0xff, ciePointer >> 8, 0, 0);
    b.u32(bytes.length).u8(...bytes);
  }
  b.u32(0);
  return Uint8Array.from(b.out);
}

const SECTION = 0x2000;

Deno.test("ByteCursor: LEB128 and encoded pointers", () => {
  const c = new ByteCursor(
    Uint8Array.of(0xe5, 0x8e, 0x26, 0x7f, 0x80, 0x7f, 0xfc, 0xff, 0xff, 0xff),
  );
  assert.equal(c.uleb(), 624485n);
  assert.equal(c.sleb(), -1n);
  assert.equal(c.sleb(), -128n);
  // pcrel|sdata4 of -4 read at section offset 6 of a section at 0x1000 -> 0x1002
  assert.equal(c.encoded(0x1b, { section: 0x1000n }), 0x1002n);
  assert.throws(() => c.u8(), CfiError);
});

Deno.test("CfiTable: FDE lookup by scanning, rows through prologue and epilogue", () => {
  const insns = [
    0x41, // advance_loc 1
    0x0e,
    16, // def_cfa_offset 16
    0x86,
    2, // offset r6 at cfa-16
    0x43, // advance_loc 3
    0x0d,
    6, // def_cfa_register r6
    0x4a, // advance_loc 10
    0x0a, // remember_state
    0x0c,
    7,
    8, // def_cfa rsp 8
    0xc6, // restore r6
    0x41, // advance_loc 1
    0x0b, // restore_state
  ];
  const bytes = ehFrame(SECTION, [[0x1000, 0x20, insns], [0x1100, 0x10, []]]);
  const table = new CfiTable({ bytes, address: BigInt(SECTION), kind: "eh_frame" });
  assert.equal(table.allFdes().length, 2);
  assert.equal(table.find(0xfffn), undefined);
  assert.equal(table.find(0x1020n), undefined);
  const fde = table.find(0x1000n)!;
  assert.equal(fde.pcBegin, 0x1000n);
  assert.equal(fde.pcEnd, 0x1020n);
  assert.equal(table.find(0x1105n)?.pcBegin, 0x1100n);

  const entry = computeRow(fde, 0x1000n);
  assert.deepEqual(entry.cfa, { kind: "registerOffset", register: 7, offset: 8n });
  assert.deepEqual(entry.registers.get(16), { kind: "offset", offset: -8n });
  assert.equal(entry.registers.has(6), false);

  const pushed = computeRow(fde, 0x1001n);
  assert.deepEqual(pushed.cfa, { kind: "registerOffset", register: 7, offset: 16n });
  assert.deepEqual(pushed.registers.get(6), { kind: "offset", offset: -16n });

  const body = computeRow(fde, 0x100dn);
  assert.deepEqual(body.cfa, { kind: "registerOffset", register: 6, offset: 16n });
  assert.equal(body.location, 0x1004n);

  const epilogue = computeRow(fde, 0x100en);
  assert.deepEqual(epilogue.cfa, { kind: "registerOffset", register: 7, offset: 8n });
  assert.equal(epilogue.registers.has(6), false);

  const restored = computeRow(fde, 0x100fn);
  assert.deepEqual(restored.cfa, { kind: "registerOffset", register: 6, offset: 16n });
  assert.deepEqual(restored.registers.get(6), { kind: "offset", offset: -16n });
});

Deno.test("CfiTable: .eh_frame_hdr table finds the same FDEs", () => {
  const bytes = ehFrame(SECTION, [[0x1000, 0x20, []], [0x1100, 0x10, []]]);
  const fdeOffsets = new CfiTable({ bytes, address: BigInt(SECTION), kind: "eh_frame" })
    .allFdes().map((f) => f.offset);
  const hdrAddress = 0x1f00;
  const hdr = new Bytes().u8(1, 0x1b, 0x03, 0x3b).u32(SECTION - (hdrAddress + 4)).u32(2);
  for (const [pc, i] of [[0x1000, 0], [0x1100, 1]]) {
    hdr.u32(pc - hdrAddress).u32(SECTION + fdeOffsets[i] - hdrAddress);
  }
  const entries = parseEhFrameHdr(Uint8Array.from(hdr.out), BigInt(hdrAddress), BigInt(SECTION))!;
  assert.deepEqual(entries, [
    { pc: 0x1000n, fdeOffset: fdeOffsets[0] },
    { pc: 0x1100n, fdeOffset: fdeOffsets[1] },
  ]);
  const table = new CfiTable({ bytes, address: BigInt(SECTION), kind: "eh_frame" }, entries);
  assert.equal(table.find(0x110fn)?.pcBegin, 0x1100n);
  assert.equal(table.find(0x1050n), undefined);
});

Deno.test("computeRow: unsupported opcode is a CfiError with its offset", () => {
  const bytes = ehFrame(SECTION, [[0x1000, 0x10, [0x3f]]]);
  const fde = new CfiTable({ bytes, address: BigInt(SECTION), kind: "eh_frame" }).find(0x1000n)!;
  assert.throws(() => computeRow(fde, 0x1000n), /opcode 0x3f/);
});

Deno.test("computeRow: .debug_frame CIE/FDE with absolute addresses and val_expression", () => {
  const b = new Bytes();
  // CIE: id 0xffffffff, version 1, "", code 1, data -8, RA 16, def_cfa rsp 8
  const cie = [0xff, 0xff, 0xff, 0xff, 1, 0, 1, 0x78, 16, 0x0c, 7, 8];
  b.u32(cie.length).u8(...cie);
  const fde = new Bytes().u32(0).u32(0x4000).u32(0).u32(0x40).u32(0)
    .u8(0x16, 3, 2, 0x77, 0x10); // val_expression r3: breg7 +16
  b.u32(fde.length).u8(...fde.out);
  const table = new CfiTable({ bytes: Uint8Array.from(b.out), address: 0n, kind: "debug_frame" });
  const row = computeRow(table.find(0x4010n)!, 0x4010n);
  assert.equal(row.registers.get(3)?.kind, "valExpression");
  assert.equal(table.find(0x4040n), undefined);
});

Deno.test("evaluateExpression: PLT CFA expression on both sides of the push", () => {
  // breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus
  const expr = Uint8Array.of(0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22);
  const at = (rip: bigint) => {
    const regs = new Map([[7, 0x7000n], [16, rip]]);
    return evaluateExpression(expr, { register: (r) => regs.get(r), memory: () => undefined });
  };
  assert.equal(at(0x401026n), 0x7008n); // rip & 15 = 6 < 11
  assert.equal(at(0x40102bn), 0x7010n); // rip & 15 = 11 >= 11
});

Deno.test("evaluateExpression: deref, branches and errors", () => {
  const memory = (a: bigint) => (a === 0x100n ? 0x1234n : undefined);
  const ctx = { register: () => undefined, memory };
  // const2u 0x100; deref
  assert.equal(evaluateExpression(Uint8Array.of(0x0a, 0x00, 0x01, 0x06), ctx), 0x1234n);
  // lit1; bra +1; lit5; lit7 -> branch taken skips lit5
  assert.equal(evaluateExpression(Uint8Array.of(0x31, 0x28, 1, 0, 0x35, 0x37), ctx), 7n);
  // with the CFA pushed first: plus_uconst 8
  assert.equal(evaluateExpression(Uint8Array.of(0x23, 8), ctx, [0x10n]), 0x18n);
  assert.throws(() => evaluateExpression(Uint8Array.of(0x75, 0), ctx), ExpressionError);
  assert.throws(() => evaluateExpression(Uint8Array.of(0x22), ctx), /underflow/);
  assert.throws(() => evaluateExpression(Uint8Array.of(0x30, 0x06), ctx), /unreadable/);
  // skip -3 forever: bounded
  assert.throws(() => evaluateExpression(Uint8Array.of(0x2f, 0xfd, 0xff), ctx), /too many steps/);
});
