#!/usr/bin/env node
// Runs the demo test again and again with CPU hogs beside it, to show the demo does not flake under load:
//   node scripts/demo-soak.mjs [--runs 20] [--hogs 1] [--test test/demo.test.ts]
// Stops at the first failure (exit 1) and prints its output; exit 0 when every run passed.
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    hogs: { type: 'string', default: '1' },
    test: { type: 'string', default: 'test/demo.test.ts' },
  },
});
const runs = Number(values.runs);
const hogCount = Number(values.hogs);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(hogCount) || hogCount < 0) {
  process.stderr.write('usage: node scripts/demo-soak.mjs [--runs N>0] [--hogs N>=0] [--test FILE]\n');
  process.exit(2);
}

// A hog: a child process spinning on the CPU until it is killed.
const hogs = Array.from({ length: hogCount }, () =>
  spawn(process.execPath, ['-e', 'for (;;) Math.sqrt(Math.random());'], { stdio: 'ignore' }),
);
const stopHogs = () => hogs.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    stopHogs();
    process.exit(130);
  });

const vitest = new URL('../node_modules/vitest/vitest.mjs', import.meta.url).pathname;
const times = [];
let failed = 0;
for (let i = 1; i <= runs; i++) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [vitest, 'run', values.test], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const seconds = (performance.now() - started) / 1000;
  times.push(seconds);
  const ok = r.status === 0;
  process.stdout.write(`run ${i}/${runs}: ${ok ? 'passed' : 'FAILED'} in ${seconds.toFixed(1)} s\n`);
  if (!ok) {
    failed = i;
    process.stdout.write((r.stdout ?? '') + (r.stderr ?? '') + '\n');
    break;
  }
}
stopHogs();
const passed = failed ? failed - 1 : runs;
const mean = times.reduce((a, b) => a + b, 0) / times.length;
process.stdout.write(
  `${passed} of ${runs} runs passed in a row with ${hogCount} CPU hog(s) beside them ` +
    `(mean ${mean.toFixed(1)} s, max ${Math.max(...times).toFixed(1)} s per run)\n`,
);
process.exit(failed ? 1 : 0);
