/**
 * perf script's memory-sampling columns (`perf record -d`, `perf mem`):
 * `data_src` as perf 6.1's `data_src__fprintf` prints it (the raw value and
 * `perf_script__meminfo_scnprintf`'s `|OP ...|LVL ...|SNP ...|TLB ...|LCK
 * ...|BLK ...` text from util/mem-events.c, left-aligned to the longest
 * printed so far), and the `weight` / `ins_lat` halves of
 * PERF_SAMPLE_WEIGHT_STRUCT.
 *
 * @module
 */

import { hexBig, padStart } from "../abi/mod.ts";

const MEM_LVL = [
  "N/A",
  "HIT",
  "MISS",
  "L1",
  "LFB/MAB",
  "L2",
  "L3",
  "Local RAM",
  "Remote RAM (1 hop)",
  "Remote RAM (2 hops)",
  "Remote Cache (1 hop)",
  "Remote Cache (2 hops)",
  "I/O",
  "Uncached",
];
/** `mem_lvlnum[]` (others print `L%d`). */
const MEM_LVLNUM: Record<number, string> = {
  0xb: "Any cache",
  0xc: "LFB/MAB",
  0xd: "RAM",
  0xe: "PMEM",
  0xf: "N/A",
};
const SNOOP = ["N/A", "None", "Hit", "Miss", "HitM"];
const SNOOPX = ["Fwd", "Peer"];
const TLB = ["N/A", "HIT", "MISS", "L1", "L2", "Walker", "Fault"];

/** `union perf_mem_data_src` bit fields. */
function field(v: bigint, shift: number, bits: number): number {
  return Number((v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
}

/** Names of the set bits of `m` from `names`, joined by " or ". */
function orList(m: number, names: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; m && i < names.length; i++, m >>>= 1) if (m & 1) out.push(names[i]!);
  return out.join(" or ");
}

/**
 * perf's `perf_script__meminfo_scnprintf` of a data_src value.
 *
 * @param dataSrc PERF_SAMPLE_DATA_SRC.
 * @returns `|OP LOAD|LVL L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A`.
 */
export function memInfoText(dataSrc: bigint): string {
  const op = field(dataSrc, 0, 5);
  const opText = op & 1
    ? "N/A"
    : op & 2
    ? "LOAD"
    : op & 4
    ? "STORE"
    : op & 8
    ? "PFETCH"
    : op & 16
    ? "EXEC"
    : "No";
  // LVL
  const lvl = field(dataSrc, 5, 14);
  let lvlText = field(dataSrc, 37, 1) ? "Remote " : "";
  const names = orList(lvl & ~(2 | 4), MEM_LVL);
  lvlText += names;
  const num = field(dataSrc, 33, 4);
  if (num) {
    if (names) lvlText += " or ";
    lvlText += MEM_LVLNUM[num] ?? `L${num}`;
  }
  if (lvlText === "") lvlText = "N/A";
  if (lvl & 2) lvlText += " hit";
  if (lvl & 4) lvlText += " miss";
  // SNP
  const snp = [orList(field(dataSrc, 19, 5), SNOOP), orList(field(dataSrc, 38, 2), SNOOPX)]
    .filter((s) => s !== "").join(" or ") || "N/A";
  // TLB
  const tlb = field(dataSrc, 26, 7);
  let tlbText = orList(tlb & ~(2 | 4), TLB) || "N/A";
  if (tlb & 2) tlbText += " hit";
  if (tlb & 4) tlbText += " miss";
  // LCK
  const lck = field(dataSrc, 24, 2);
  const lckText = lck & 1 ? "N/A" : lck & 2 ? "Yes" : "No";
  // BLK
  const blk = field(dataSrc, 40, 3);
  let blkText = "";
  if (!blk || blk & 1) blkText = " N/A";
  else {
    if (blk & 2) blkText += " Data";
    if (blk & 4) blkText += " Addr";
  }
  const text =
    `|OP ${opText}|LVL ${lvlText}|SNP ${snp}|TLB ${tlbText}|LCK ${lckText}|BLK ${blkText}`;
  return text.slice(0, 99); // perf's 100-byte buffer
}

/** perf 6.1's `data_src__fprintf`, with its running column width. */
export class DataSrcColumn {
  #maxlen = 0;

  /**
   * The column text of one sample.
   *
   * @param dataSrc PERF_SAMPLE_DATA_SRC.
   * @returns `%16lx %s` left-aligned to the widest printed so far.
   */
  format(dataSrc: bigint): string {
    const out = `${padStart(hexBig(dataSrc), 16)} ${memInfoText(dataSrc)}`.slice(0, 99);
    if (out.length > this.#maxlen) this.#maxlen = out.length;
    return out.padEnd(this.#maxlen);
  }
}

/**
 * The weight and instruction latency of a sample, as perf's
 * `evsel__parse_sample` splits PERF_SAMPLE_WEIGHT_STRUCT (`var1_dw`,
 * `var2_w`); PERF_SAMPLE_WEIGHT is the weight whole.
 *
 * @param weight The raw u64.
 * @param struct Whether the event has WEIGHT_STRUCT.
 * @returns weight and ins_lat.
 */
export function splitWeight(weight: bigint, struct: boolean): { weight: bigint; insLat: number } {
  if (!struct) return { weight, insLat: 0 };
  return { weight: weight & 0xffffffffn, insLat: Number((weight >> 32n) & 0xffffn) };
}
