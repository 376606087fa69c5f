/**
 * Test helper: turns `perf script -F comm,pid,tid[,cpu],time,period,event,ip,sym,dso,symoff`
 * text (the testdata fixtures) into {@linkcode StackSample}s, so the outputs can be
 * compared with what real perf printed for the same data. Not part of the library.
 *
 * @module
 */

import type { FrameRef, StackSample } from "../analyze/profile.ts";

const HEADER = /^(\S.*?)\s+(\d+)\/(\d+)\s+(?:\[(\d+)\]\s+)?(\d+)\.(\d+):\s+(\d+)\s+(\S+):\s*$/;
const FRAME = /^\t\s*([0-9a-f]+) (.+) \((.*)\)$/;
const KERNEL_START = 0xffff800000000000n;

/**
 * Parses perf script text with callchains into samples (leaf-first frames).
 * @param text The perf script output.
 * @returns Samples in file order.
 */
export function samplesFromScript(text: string): StackSample[] {
  const out: StackSample[] = [];
  let head: RegExpExecArray | null = null;
  let frames: FrameRef[] = [];
  const flush = () => {
    if (!head) return;
    // perf prints frames without a map with the sample's own cpumode ([k] after a kernel IP)
    const sampleKernel = frames.length > 0 && frames[0].kernel;
    frames = frames.map((
      f,
    ) => (f.dso === undefined && !f.inlined ? { ...f, kernel: sampleKernel } : f));
    out.push({
      frames,
      weight: Number(head[7]),
      pid: Number(head[2]),
      tid: Number(head[3]),
      cpu: head[4] === undefined ? -1 : Number(head[4]),
      comm: head[1],
      time: Number(head[5]) * 1e9 + Number(head[6].padEnd(9, "0")),
      context: undefined,
      truncated: false,
    });
    head = null;
    frames = [];
  };
  for (const line of text.split("\n")) {
    if (line === "") {
      flush();
      continue;
    }
    const h = HEADER.exec(line);
    if (h) {
      flush();
      head = h;
      continue;
    }
    const f = FRAME.exec(line);
    if (!f) throw new Error(`unparsed perf script line: ${JSON.stringify(line)}`);
    const ip = BigInt("0x" + f[1]);
    const rawSym = f[2].replace(/\+0x[0-9a-f]+$/, "");
    const inlined = f[3] === "inlined";
    const dso = f[3] === "[unknown]" || inlined ? undefined : f[3];
    frames.push({
      sym: rawSym === "[unknown]" ? undefined : rawSym,
      dso,
      ip,
      kernel: dso === "[kernel.kallsyms]" || ip >= KERNEL_START,
      inlined,
    });
  }
  flush();
  return out;
}
