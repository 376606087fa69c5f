/*
 * burn: a small CPU-burning program used to record real perf.data fixtures.
 *
 * Call structure (built with -O1 -g -fno-omit-frame-pointer, every function
 * noinline so each keeps its own frame):
 *
 *   main -> run -> work_a -> leaf
 *               -> work_b -> leaf
 *               -> deep(40) -> deep(39) -> ... -> deep(0) -> leaf   (every 16th round)
 *   leaf -> publish (once per call, so leaf keeps a frame pointer)
 *
 * A second thread named "burn worker 1" (a comm with spaces, pid != tid) runs
 * the same loop for the first quarter of the duration.
 *
 * Usage: burn [duration_ms]   (default 200)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

static volatile uint64_t sink;

/* Not inlined, so leaf() makes a call and gcc keeps its frame pointer (gcc
 * drops the frame of a function that calls nothing, even with
 * -fno-omit-frame-pointer, and its caller would then vanish from FP stacks). */
NOINLINE static void publish(uint64_t x) { sink = x; }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

NOINLINE static uint64_t leaf(uint64_t x, int n) {
  for (int i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  publish(x);
  return x;
}

NOINLINE static uint64_t work_a(uint64_t x) {
  x = leaf(x, 20000);
  return x + 1;
}

NOINLINE static uint64_t work_b(uint64_t x) {
  x = leaf(x, 10000);
  x = leaf(x ^ 0x9e3779b97f4a7c15u, 10000);
  return x + 3;
}

NOINLINE static uint64_t deep(uint64_t x, int depth) {
  if (depth == 0) return leaf(x, 30000);
  x = deep(x + (uint64_t)depth, depth - 1);
  sink = x;
  return x * 3;
}

NOINLINE static uint64_t run(uint64_t deadline) {
  uint64_t x = 88172645463325252u;
  unsigned round = 0;
  while (now_ns() < deadline) {
    x = work_a(x);
    x = work_b(x);
    if ((round++ & 15) == 0) x = deep(x, 40);
  }
  return x;
}

static void *worker(void *arg) {
  uint64_t deadline = *(const uint64_t *)arg;
  sink = run(deadline);
  return NULL;
}

int main(int argc, char **argv) {
  long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
  if (ms <= 0) ms = 200;
  uint64_t start = now_ns();
  uint64_t worker_deadline = start + (uint64_t)ms * 250000u;
  pthread_t tid;
  if (pthread_create(&tid, NULL, worker, &worker_deadline) != 0) {
    perror("pthread_create");
    return 1;
  }
  pthread_setname_np(tid, "burn worker 1");
  uint64_t x = run(start + (uint64_t)ms * 1000000u);
  pthread_join(tid, NULL);
  printf("%llu\n", (unsigned long long)(x & 0xff));
  return 0;
}
