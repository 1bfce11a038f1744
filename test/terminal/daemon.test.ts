// The real daemon process: `passgate terminal start`, lines over TCP, decisions read back from the outbox.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  LineClient,
  makeFleet,
  runCli,
  startDaemon,
  type Daemon,
  type Fleet,
} from './fixture.js';

interface OutboxRow {
  seq: number;
  body: string;
}

function outbox(dbFile: string): Array<Record<string, unknown>> {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare('SELECT seq, body FROM outbox ORDER BY seq').all() as OutboxRow[]).map(
      (r) => JSON.parse(r.body) as Record<string, unknown>,
    );
  } finally {
    db.close();
  }
}

describe('passgate terminal start (real process)', () => {
  let fleet: Fleet;
  let daemon: Daemon;
  let client: LineClient;

  beforeAll(async () => {
    ensureBuilt();
    fleet = makeFleet(
      { capacity: 2, antiPassbackSeconds: 60 },
      {
        cards: [
          { uid: '04a1b2c3', sub: 'm-card' },
          { uid: '04ffffff', sub: 'm-lost', blocked: true },
        ],
      },
    );
    const loaded = runCli([
      'terminal',
      'load-lists',
      '--config',
      fleet.configFile,
      '--lists',
      fleet.listsDir,
      '--json',
    ]);
    expect(loaded.code, loaded.stderr + loaded.stdout).toBe(0);
    daemon = await startDaemon(fleet.configFile);
    client = await LineClient.connect(daemon.tcpPort);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    if (daemon && daemon.proc.exitCode === null) {
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
    }
    fleet?.cleanup();
  });

  it('decides QR lines, records each decision in the outbox before answering', async () => {
    const alice = fleet.credential('m-alice');
    const ok = await client.send(fleet.qr(alice));
    expect(ok).toMatchObject({ decision: 'accept', reason: 'ok' });
    // Same subject, same gate, same direction inside the window.
    expect(await client.send(fleet.qr(alice, Math.floor(Date.now() / 1000) - 1))).toMatchObject({
      decision: 'deny',
      reason: 'anti_passback',
    });
    // Leaving is fine, and it frees a place.
    expect(await client.send('out ' + fleet.qr(alice, Math.floor(Date.now() / 1000) - 2))).toMatchObject({
      decision: 'accept',
      reason: 'ok',
    });
    expect(await client.send(fleet.qr(fleet.credential('m-bob', [{ k: 'library' }])))).toMatchObject({
      reason: 'not_entitled',
    });
    expect(await client.send(fleet.qr(fleet.credential('m-rev', undefined, fleet.revokedCti)))).toMatchObject(
      { reason: 'revoked' },
    );
    expect(await client.send(fleet.qr(fleet.credential('m-suspended')))).toMatchObject({
      reason: 'member_suspended',
    });
    expect(await client.send('PG1:NOT-A-CODE')).toMatchObject({ decision: 'deny', reason: 'malformed' });
    const qr = fleet.qr(fleet.credential('m-carol'));
    expect(await client.send(qr)).toMatchObject({ decision: 'accept' });
    expect(await client.send(qr)).toMatchObject({ decision: 'deny', reason: 'replayed' });

    const rows = outbox(fleet.dbFile);
    const entries = rows.filter((r) => r.kind === 'entry');
    expect(entries.map((e) => e.reason)).toEqual([
      'ok',
      'anti_passback',
      'ok',
      'not_entitled',
      'revoked',
      'member_suspended',
      'malformed',
      'ok',
      'replayed',
    ]);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(entries[0]).toMatchObject({
      sub: 'm-alice',
      gate: 'north-1',
      direction: 'in',
      decision: 'accept',
    });
    expect(entries[2]).toMatchObject({ direction: 'out' });
  });

  it('enforces capacity on entries only', async () => {
    expect(await client.send(fleet.qr(fleet.credential('m-d1')))).toMatchObject({ decision: 'accept' });
    // occupancy: carol + d1 = 2 = capacity
    expect(await client.send(fleet.qr(fleet.credential('m-d2')))).toMatchObject({
      decision: 'deny',
      reason: 'capacity_full',
    });
    expect(await client.send('out ' + fleet.qr(fleet.credential('m-d3')))).toMatchObject({
      decision: 'accept',
    });
  });

  it('handles card taps by HMAC binding', async () => {
    expect(await client.send('card:04A1B2C3')).toMatchObject({ decision: 'accept', reason: 'ok' });
    expect(await client.send('card:04FFFFFF')).toMatchObject({ decision: 'deny', reason: 'card_blocked' });
    expect(await client.send('card:04010203040506')).toMatchObject({
      decision: 'deny',
      reason: 'card_unknown',
    });
    const last = outbox(fleet.dbFile).at(-1)!;
    expect(last.kind).toBe('card_tap');
    expect(JSON.stringify(outbox(fleet.dbFile))).not.toContain('0102030405');
  });

  it('keeps input hygiene: long lines, control characters, repeats', async () => {
    expect(await client.send('PG1:' + 'A'.repeat(5000))).toEqual({ ignored: 'line_too_long' });
    expect(await client.send('PG1:AB\u0001CD')).toEqual({ ignored: 'control_characters' });
    expect(await client.send('   \r')).toEqual({ ignored: 'empty' });
    // Still answering after the junk.
    expect(await client.send('PG1:??')).toMatchObject({ decision: 'deny' });
  });

  it('serves /healthz, /metrics and /status on localhost', async () => {
    const health = await fetch(`http://127.0.0.1:${daemon.httpPort}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${daemon.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/passgate_decisions_total\{decision="deny",reason="anti_passback"\} 1/);
    expect(metrics).toMatch(/passgate_decision_duration_seconds_count \d+/);
    expect(metrics).toMatch(/passgate_outbox_depth \d+/);
    expect(metrics).toMatch(/passgate_input_ignored_total\{why="line_too_long"\} 1/);
    expect(metrics).toMatch(/passgate_list_age_seconds\{list="revocation"\}/);
    expect(metrics).toMatch(/passgate_clock_state\{state="degraded"\} 1/);
    const status = (await (await fetch(`http://127.0.0.1:${daemon.httpPort}/status`)).json()) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({ terminalId: 'gate-test-1', clock: 'degraded' });
  });

  it('logs one line per decision with a reason code and never the payload, name or UID', () => {
    const lines = daemon
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"msg":"decision'));
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('reason');
    expect(daemon.stderr()).not.toContain('PG1:');
    expect(daemon.stderr()).not.toContain('04A1B2C3');
    expect(daemon.stderr()).not.toContain('m-alice');
  });

  it('stops cleanly on SIGTERM, leaving a consistent database', async () => {
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(daemon.stderr()).toContain('stopped cleanly');
    const db = new Database(fleet.dbFile, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('refuses a bad config naming every bad field at once', () => {
    const bad = fleet.configFile.replace('terminal.json', 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        terminalId: 'Gate 1',
        role: 'robot',
        gate: 'g',
        dataDir: 'd',
        listPublicKey: 'xyz',
        signingKeyFile: 'k',
        colour: 1,
      }),
    );
    const r = runCli(['terminal', 'start', '--config', bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('terminalId');
    expect(r.stderr).toContain('role');
    expect(r.stderr).toContain('listPublicKey');
    expect(r.stderr).toContain('colour');
  });

  it('refuses a damaged database with a recovery hint; recover keeps the outbox', () => {
    const before = outbox(fleet.dbFile);
    // Overwrite the middle of the file (the list pages): a corrupted SD card.
    const db = new Database(fleet.dbFile);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    const fd = Buffer.alloc(4096 * 2, 0xab);
    const f = openSync(fleet.dbFile, 'r+');
    writeSync(f, fd, 0, fd.length, Math.floor(pages / 2) * 4096);
    closeSync(f);
    const status0 = runCli(['terminal', 'status', '--config', fleet.configFile]);
    expect(status0.code).toBe(1);
    expect(status0.stderr).toContain('terminal recover');
    // `terminal start --help` says 1 for a database that is not usable: the daemon agrees.
    expect(runCli(['terminal', 'start', '--help']).stdout).toMatch(/1 when the keys or the database/);
    const start = runCli(['terminal', 'start', '--config', fleet.configFile]);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain('terminal recover');
    const rec = runCli(['terminal', 'recover', '--config', fleet.configFile, '--json']);
    const report = JSON.parse(rec.stdout) as { integrity: string; lastSeq: number };
    expect(report.integrity).toBe('ok');
    expect(report.lastSeq).toBe(before.length);
    const after = outbox(fleet.dbFile);
    expect(after.map((e) => e.seq)).toEqual(before.map((e) => e.seq));
    const status = runCli(['terminal', 'status', '--config', fleet.configFile, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ lastSeq: before.length, lists: {} });
  }, 120_000);
});
