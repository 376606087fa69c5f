/**
 * The interface through which the simulated kernel emits samples (the lead connects it to the
 * perf ring), and a simple in-memory implementation for tests.
 * @module
 */

/** PERF_CONTEXT_KERNEL marker in a callchain. */
export const PERF_CONTEXT_KERNEL = 0xffffffffffffff80n;
/** PERF_CONTEXT_USER marker in a callchain. */
export const PERF_CONTEXT_USER = 0xfffffffffffffe00n;

/** One delivered PMU sample. */
export interface SimSample {
  /** CPU number. */
  cpu: number;
  /** Simulated time in ns. */
  time: number;
  /** Process id. */
  pid: number;
  /** Thread id. */
  tid: number;
  /** Sampled instruction pointer (leaf). */
  ip: bigint;
  /** Sample period. */
  period: number;
  /** Interrupted context, perf's recursion context of the `preempt_count` the NMI handler
   * interrupted: 0 task, 1 softirq, 2 hardirq, 3 nmi. */
  context: number;
  /** Kernel order: leaf first, with PERF_CONTEXT_* markers. */
  callchain: readonly bigint[];
  /**
   * The same callchain as u32 pairs (low, high), for sinks that set
   * {@link SampleSink.wantsWords}; a scratch buffer valid only during the call.
   */
  words?: Uint32Array;
  /** The callchain is incomplete: the user walk bailed on a non-present page, or the chain
   * overran the callchain buffer (`maxStack`). */
  truncated: boolean;
}

/** Ground truth for one PMU overflow. */
export interface SimTruth {
  /** CPU number. */
  cpu: number;
  /** Simulated time in ns. */
  time: number;
  /** Process id. */
  pid: number;
  /** Thread id. */
  tid: number;
  /** The true callchain, same layout as {@link SimSample.callchain}. */
  stack: readonly bigint[];
  /**
   * The same stack as u32 pairs (low, high), for sinks that set {@link SampleSink.wantsWords};
   * a scratch buffer valid only during the call.
   */
  words?: Uint32Array;
  /** Whether a sample was delivered for it. */
  delivered: boolean;
}

/** Receiver of simulated samples. */
export interface SampleSink {
  /** Ask for {@link SimSample.words} / {@link SimTruth.words} (u32 pairs, no BigInt work). */
  readonly wantsWords?: boolean;
  /** One PMU sample delivered by the simulated kernel. callchain is in kernel order: leaf first,
   * with PERF_CONTEXT_KERNEL / PERF_CONTEXT_USER markers as bigint. context: 0 task, 1 softirq,
   * 2 hardirq, 3 nmi (the interrupted context). */
  sample(s: SimSample): void;
  /** Ground truth for one PMU overflow (delivered or not). */
  truth(t: SimTruth): void;
  /** A thread got a name. */
  comm?(pid: number, tid: number, comm: string, time: number): void;
  /** A process was forked. */
  fork?(pid: number, ppid: number, tid: number, ptid: number, time: number): void;
  /** A thread exited. */
  exit?(pid: number, ppid: number, tid: number, ptid: number, time: number): void;
}

/** Sink that keeps everything in arrays (tests, small runs). */
export class MemorySink implements SampleSink {
  /** Delivered samples. */
  readonly samples: SimSample[] = [];
  /** Ground truth records. */
  readonly truths: SimTruth[] = [];
  /** comm events. */
  readonly comms: { pid: number; tid: number; comm: string; time: number }[] = [];
  /** fork events. */
  readonly forks: { pid: number; ppid: number; tid: number; ptid: number; time: number }[] = [];

  /** Store a sample. @param s the sample */
  sample(s: SimSample): void {
    this.samples.push(s);
  }
  /** Store a truth record. @param t the record */
  truth(t: SimTruth): void {
    this.truths.push(t);
  }
  /** Store a comm event. @param pid process @param tid thread @param comm name @param time ns */
  comm(pid: number, tid: number, comm: string, time: number): void {
    this.comms.push({ pid, tid, comm, time });
  }
  /** Store a fork event. @param pid process @param ppid parent @param tid thread @param ptid parent thread @param time ns */
  fork(pid: number, ppid: number, tid: number, ptid: number, time: number): void {
    this.forks.push({ pid, ppid, tid, ptid, time });
  }
}

/** Sink that only counts (benchmarks). */
export class CountingSink implements SampleSink {
  /** Samples seen. */
  samples = 0;
  /** Truth records seen. */
  truths = 0;
  /** Count a sample. @param _s ignored */
  sample(_s: SimSample): void {
    this.samples++;
  }
  /** Count a truth record. @param _t ignored */
  truth(_t: SimTruth): void {
    this.truths++;
  }
}
