// Enrollment codes on the command line (issue 13 item 7): codes from the current alphabet never start
// with "-", and `terminal enroll` takes the code as `--code CODE`, `--code=CODE` or the argument, so
// even a code made in the old format that starts with "-" can be typed (`--code=-…`). In-process central
// (aedes + SQLite, admin API on a free port) and the real CLI entry point.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashCode } from '../../central/admin.js';
import { startCentral, type Central } from '../../central/index.js';
import { main } from '../../cli/main.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
let dir: string;
let central: Central;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-enroll-code-'));
  central = await startCentral({
    dataDir: join(dir, 'central'),
    mqttPort: 0,
    httpPort: 0,
    logger,
    scryptCost: 10,
  });
  url = `http://127.0.0.1:${central.httpPort}`;
});

afterAll(async () => {
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function enroll(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['terminal', 'enroll', '--central', url, ...args], {
    out: (t) => (out += t + '\n'),
    err: (t) => (err += t + '\n'),
  });
  return { code, out, err };
}

describe('terminal enroll: code forms', () => {
  it('a fresh code works as the argument, typed in lower case with spaces for dashes', async () => {
    const code = await central.createEnrollmentCode('gate-pos', 'turnstile');
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const r = await enroll([typed, '--dir', join(dir, 'pos')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Enrolled terminal gate-pos/);
  });

  it('an old-format code starting with "-" works as --code=CODE; --code CODE says how', async () => {
    const legacy = '-BZEXq9aLmN0pQ';
    await central.store.addEnrollmentCode(
      hashCode(legacy),
      { terminal: 'gate-dash', role: 'turnstile' },
      Date.now() + 60_000,
    );
    const ambiguous = await enroll(['--code', legacy, '--dir', join(dir, 'dash')]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toMatch(/--code=-/);
    const r = await enroll([`--code=${legacy}`, '--dir', join(dir, 'dash')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses no code, two codes, or a code given twice (exit 2)', async () => {
    expect((await enroll(['--dir', join(dir, 'none')])).code).toBe(2);
    expect((await enroll(['AAAA', 'BBBB', '--dir', join(dir, 'two')])).code).toBe(2);
    const both = await enroll(['AAAA', '--code', 'BBBB', '--dir', join(dir, 'both')]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/once/);
  });
});
