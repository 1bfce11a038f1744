// The `passgate` binary end to end: issuer → wallet → lists → verify, exit codes and --json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = join(process.cwd(), 'bin', 'passgate.js');
let dir: string;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  // `npm test` builds dist/ before vitest runs; run `npm run build` first when running this file alone.
  if (!existsSync(join(process.cwd(), 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'passgate-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('passgate CLI', () => {
  let cti = '';
  it('creates an issuer with secret files 0600 and a wallet', () => {
    expect(run('issuer', 'init', '--dir', 'iss', '--alg', 'ES256').code).toBe(0);
    expect(statSync(join(dir, 'iss', 'issuer-key.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'iss', 'list-key.json')).mode & 0o777).toBe(0o600);
    expect(run('wallet', 'new', '--file', 'w.json').code).toBe(0);
  });

  it('issues into the wallet and answers --json', () => {
    const r = run(
      'issuer',
      'issue',
      '--dir',
      'iss',
      '--wallet',
      'w.json',
      '--sub',
      'm-abc123',
      '--ent',
      'venue:zoo',
      '--ent',
      'library:main:loans=8',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(true);
    expect(j.cti).toMatch(/^[0-9a-f]{32}$/);
    cti = j.cti;
    expect(run('issuer', 'lists', '--dir', 'iss', '--out', 'lists').code).toBe(0);
  });

  it('accepts a fresh code (exit 0) and denies a replay, a stale code and a revoked one (exit 1)', () => {
    const qr = run('wallet', 'present', '--file', 'w.json').out.trim();
    expect(qr.startsWith('PG1:')).toBe(true);
    expect(qr.length).toBeLessThanOrEqual(600);
    const ok = run('verify', qr, '--lists', 'lists', '--require', 'venue:zoo', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ decision: 'accept', reason: 'ok', sub: 'm-abc123' });
    const old = run(
      'wallet',
      'present',
      '--file',
      'w.json',
      '--at',
      String(Math.floor(Date.now() / 1000) - 300),
    ).out.trim();
    const stale = run('verify', old, '--lists', 'lists');
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('stale');
    const wrongPlace = run('verify', qr, '--lists', 'lists', '--require', 'venue:aquarium', '--json');
    expect(JSON.parse(wrongPlace.out).reason).toBe('not_entitled');
    expect(run('issuer', 'revoke', '--dir', 'iss', '--cti', cti).code).toBe(0);
    expect(run('issuer', 'lists', '--dir', 'iss', '--out', 'lists').code).toBe(0);
    const fresh = run('wallet', 'present', '--file', 'w.json').out.trim();
    const revoked = run('verify', fresh, '--lists', 'lists', '--json');
    expect(revoked.code).toBe(1);
    expect(JSON.parse(revoked.out).reason).toBe('revoked');
    // ten CLI processes: on a loaded machine each can take seconds to start
  }, 120_000);

  it('exports the issuer key as a JWK set', () => {
    const j = JSON.parse(run('issuer', 'export', '--dir', 'iss', '--jwk').out);
    expect(j.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
  });

  it('gives usage errors exit 2 with a hint, and garbage input a malformed deny', () => {
    const missing = run('verify', '--lists', 'lists');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--help');
    expect(
      run(
        'issuer',
        'issue',
        '--dir',
        'iss',
        '--wallet',
        'w.json',
        '--sub',
        'm-abc123',
        '--ent',
        'venue:zoo',
        '--days',
        'abc',
      ).code,
    ).toBe(2);
    expect(run('verify', 'x', '--lists', 'nowhere').code).toBe(2);
    expect(run('frobnicate').code).toBe(2);
    const junk = run('verify', 'PG1:%%%%', '--lists', 'lists', '--json');
    expect(junk.code).toBe(1);
    expect(JSON.parse(junk.out).reason).toBe('malformed');
    expect(run('issuer', 'init', '--help').out).toContain('--alg');
  });
});
