// The README cannot rot: its `sh` blocks (after the first, `npm ci && …`, which is how this test itself
// runs) and the `sh` walkthroughs in docs/ are run as written, in order, one bash per document, on free
// ports (PASSGATE_MQTT_PORT=0, PASSGATE_HTTP_PORT=0) in a temporary folder. Any failing command fails the
// test (set -e, pipefail). Conventions the documents follow so that they can be pasted as they are:
// values a later command needs are shell variables set with `$(passgate … --quiet)`, background processes
// end with `&` and are stopped by the document itself (`kill %1`; the test stops any left over), and
// commands that must wait for a background process say so (`central status --wait`, `--wait-lists`).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const RUN_MS = 300_000;

/** The bodies of the ```sh fenced blocks of a markdown text, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const documents: Array<{ name: string; cwd: 'root' | 'temp'; blocks: string[]; expect: RegExp[] }> = [
  {
    name: 'README.md',
    cwd: 'root',
    blocks: shellBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).slice(1),
    expect: [/ACCEPT: ok/, /^OPEN /m, /^DENIED .*revoked/m, /central stopped\./],
  },
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => ({
      name: `docs/${f}`,
      cwd: 'temp' as const,
      blocks: shellBlocks(readFileSync(join(ROOT, 'docs', f), 'utf8')),
      expect: [] as RegExp[],
    }))
    .filter((d) => d.blocks.length > 0),
];
const centralDoc = documents.find((d) => d.name === 'docs/central.md');
if (centralDoc) centralDoc.expect = [/^DENIED .*member_suspended/m, /central stopped\./];

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function run(script: string, cwd: string, tmp: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // Its own process group (detached), so a timeout can stop everything the script started.
    const child = spawn('bash', ['-c', script], {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // docs/ walkthroughs assume `passgate` on PATH, as the README sets it up
        PATH: `${join(ROOT, 'bin')}:${process.env.PATH ?? ''}`,
        TMPDIR: tmp,
        PASSGATE_MQTT_PORT: '0',
        PASSGATE_HTTP_PORT: '0',
      },
    });
    let output = '';
    const keep = (b: Buffer) => {
      if (output.length < 200_000) output += b.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n[readme test: killed after ${RUN_MS / 1000} s]`;
      process.kill(-child.pid!, 'SIGKILL');
    }, RUN_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Whatever the script left running (it should have stopped it): stop it now.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone: nothing was left
      }
      resolve({ code, output });
    });
  });
}

describe('README and docs walkthroughs run as written', () => {
  it('finds the README blocks and the compiled CLI', () => {
    expect(documents[0]!.blocks.length).toBeGreaterThanOrEqual(2);
    expect(
      existsSync(join(ROOT, 'dist', 'cli', 'main.js')),
      'run `npm run build` first (npm test does)',
    ).toBe(true);
  });

  for (const doc of documents)
    it(
      doc.name,
      async () => {
        const tmp = mkdtempSync(join(tmpdir(), 'passgate-readme-'));
        temps.push(tmp);
        const script = [
          'set -euo pipefail',
          'shopt -s inherit_errexit',
          ...doc.blocks,
          // anything still in the background: stop it and wait, so its last words are in the output
          'for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done',
          'wait',
        ].join('\n');
        const r = await run(script, doc.cwd === 'root' ? ROOT : tmp, tmp);
        expect(r.code, `${doc.name} failed:\n${r.output}`).toBe(0);
        for (const want of doc.expect) expect(r.output, `${doc.name} output`).toMatch(want);
      },
      RUN_MS + 10_000,
    );
});
