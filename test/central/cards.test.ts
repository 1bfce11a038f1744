// Card bindings end to end through the built binary: `issuer card bind` in the folder → central start
// --issuer takes it over → a terminal enrolled with a code gets the fleet card key (0600) → cards bound,
// blocked and unbound at the running central reach the terminal as signed cards-list deltas, and card
// taps are decided by the same policy as codes (a library card does not open the zoo).
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openList } from '../../shared/lists.js';
import { VerifyKey } from '../../shared/keys.js';
import { cardHash, readCardSnapshot } from '../../shared/cards.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { startPassgate, stopPassgate } from '../../testkit/passgate-process.js';
import { waitFor } from '../../testkit/wait.js';
import { LineClient } from '../terminal/fixture.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'passgate.js');
let dir: string;
const children: ChildProcess[] = [];

function passgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const r = await passgate(...args, '--json');
  if (r.code !== 0) throw new Error(`passgate ${args.join(' ')} → exit ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function daemon<T>(...args: string[]): Promise<T> {
  const started = await startPassgate<T>(args);
  children.push(started.proc);
  return started.ready;
}

beforeAll(() => {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    {
      stdio: 'pipe',
    },
  );
  dir = mkdtempSync(join(tmpdir(), 'passgate-cards-'));
}, 180_000);

afterAll(async () => {
  // The terminal first: it says goodbye to central's broker before central goes.
  for (const p of children.reverse()) await stopPassgate(p);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('card bindings: issuer folder, central, enrollment, terminal', () => {
  it('writes hashed bindings with entitlements in the folder and publishes them with `issuer lists`', async () => {
    const issuerDir = join(dir, 'issuer');
    await json('issuer', 'init', '--dir', issuerDir);
    expect(statSync(join(issuerDir, 'card-key.hex')).mode & 0o777).toBe(0o600);
    const bound = await json<{ changed: boolean; cardsVersion: number }>(
      ...[
        'issuer',
        'card',
        'bind',
        '--dir',
        issuerDir,
        '--uid',
        '04A1B2C3',
        '--sub',
        'm-zoo',
        '--ent',
        'venue:zoo',
      ],
    );
    expect(bound).toMatchObject({ changed: true, cardsVersion: 2 });
    const again = await json<{ changed: boolean }>(
      ...[
        'issuer',
        'card',
        'bind',
        '--dir',
        issuerDir,
        '--uid',
        '04a1b2c3',
        '--sub',
        'm-zoo',
        '--ent',
        'venue:zoo',
      ],
    );
    expect(again.changed).toBe(false);
    const bad = await passgate(
      'issuer',
      'card',
      'bind',
      '--dir',
      issuerDir,
      '--uid',
      '0102030405',
      '--sub',
      'm-x',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--uid must be a card UID of 4, 7 or 10 bytes/);
    const notBound = await passgate('issuer', 'card', 'block', '--dir', issuerDir, '--uid', '04000000');
    expect(notBound.code).not.toBe(0);
    const out = join(dir, 'lists');
    await json('issuer', 'lists', '--dir', issuerDir, '--out', out);
    const listKey = JSON.parse(readFileSync(join(out, 'list-key.json'), 'utf8')) as { publicKey: string };
    const list = openList(
      new Uint8Array(readFileSync(join(out, 'cards.cose'))),
      new VerifyKey('EdDSA', fromHex(listKey.publicKey)),
      'cards',
    );
    if (!('snapshot' in list)) throw new Error('expected a snapshot');
    const cardKey = fromHex(readFileSync(join(issuerDir, 'card-key.hex'), 'utf8').trim());
    const { bindings } = readCardSnapshot(list.snapshot as Map<string, unknown>);
    expect(bindings).toHaveLength(1);
    expect(toHex(bindings[0]!.h)).toBe(toHex(cardHash(fromHex('04a1b2c3'), cardKey)));
    expect(bindings[0]).toMatchObject({ sub: 'm-zoo', ent: [{ k: 'venue', v: 'zoo' }], blocked: false });
    // The UID itself appears nowhere in the published list.
    expect(readFileSync(join(out, 'cards.cose')).indexOf(Buffer.from('04a1b2c3', 'hex'))).toBe(-1);
  }, 120_000);

  it('hands the card key to an enrolled terminal and decides taps from cards changed at central', async () => {
    const issuerDir = join(dir, 'issuer');
    const data = join(dir, 'central');
    const central = await daemon<{ adminUrl: string }>(
      ...[
        'central',
        'start',
        '--data',
        data,
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
        '--issuer',
        issuerDir,
        '--scrypt-cost',
        '10',
      ],
    );
    const at = ['--central', central.adminUrl, '--central-data', data];
    const { code } = await json<{ code: string }>(
      'issuer',
      'enroll-code',
      ...at,
      '--terminal',
      'gate-cards',
      '--role',
      'turnstile',
    );
    const termDir = join(dir, 'gate-cards');
    const enrolled = await json<{ configFile: string }>(
      ...['terminal', 'enroll', '--central', central.adminUrl, '--code', code, '--dir', termDir],
    );
    const keyFile = join(termDir, 'card-key.hex');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toBe(readFileSync(join(issuerDir, 'card-key.hex'), 'utf8'));
    const config = JSON.parse(readFileSync(enrolled.configFile, 'utf8')) as Record<string, unknown>;
    expect(config.cardKeyFile).toBe(keyFile);
    writeFileSync(
      enrolled.configFile,
      JSON.stringify({ ...config, inputs: [{ type: 'tcp', port: 0, repeatIgnoreMs: 0 }] }),
    );

    const library = await json<{ cardsVersion: number }>(
      ...[
        'issuer',
        'card',
        'bind',
        ...at,
        '--uid',
        '04B1B2C3D4E5F6',
        '--sub',
        'm-library',
        '--ent',
        'library:central',
      ],
    );
    const terminal = await daemon<{ tcpPort: number; httpPort: number }>(
      'terminal',
      'start',
      '--config',
      enrolled.configFile,
    );
    const cardsVersion = async () =>
      (
        (await (await fetch(`http://127.0.0.1:${terminal.httpPort}/status`)).json()) as {
          lists: { cards?: { version: number } };
        }
      ).lists.cards?.version ?? 0;
    await waitFor(
      'the cards list on the terminal',
      async () => (await cardsVersion()) >= library.cardsVersion,
      30_000,
    );
    const client = await LineClient.connect(terminal.tcpPort);
    try {
      expect(await client.send('card:04A1B2C3')).toMatchObject({ decision: 'accept', reason: 'ok' });
      expect(await client.send('card:04B1B2C3D4E5F6')).toMatchObject({
        decision: 'deny',
        reason: 'not_entitled',
      });
      // A change at central, then the terminal's answer once the new cards list reached it.
      const tapAfter = async (op: 'block' | 'unbind') => {
        const changed = await json<{ cardsVersion: number }>(
          'issuer',
          'card',
          op,
          ...at,
          '--uid',
          '04B1B2C3D4E5F6',
        );
        await waitFor(
          `the ${op} on the terminal`,
          async () => (await cardsVersion()) >= changed.cardsVersion,
          30_000,
        );
        return client.send('card:04B1B2C3D4E5F6');
      };
      expect(await tapAfter('block')).toMatchObject({ decision: 'deny', reason: 'card_blocked' });
      expect(await tapAfter('unbind')).toMatchObject({ decision: 'deny', reason: 'card_unknown' });
    } finally {
      client.close();
    }
    // The terminal's status (sent with every list it applies) names its devices; central status prints them.
    let status = await passgate('central', 'status', '--data', data);
    await waitFor(
      'readers in central status',
      async () =>
        (status = await passgate('central', 'status', '--data', data)).stdout.includes('readers: tcp ok'),
      30_000,
    );
    expect(status.stdout).toMatch(/cards v\d+/);
    expect(existsSync(join(data, 'card-key.hex'))).toBe(false); // central used the issuer folder's key
  }, 120_000);
});
