// Runs the `passgate` CLI in-process (cli/main.ts) with its output captured, for tests.
import { main } from '../cli/main.js';

export async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
