// Issue 8 on the terminal side and on disk: a captured command replayed after a restart (item 8), file
// modes of terminal.db, central.db (+ -wal/-shm) and the issuer's state.json (item 9), and idle TCP
// input connections (item 10). Real SQLite files, real sockets.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { IssuerKeystore } from '../../issuer/keystore.js';
import { SqliteCentralStore } from '../../central/store/sqlite.js';
import { generateKeyPair, VerifyKey } from '../../shared/keys.js';
import { signCommand, topics, type Command } from '../../shared/sync.js';
import { MqttSync } from '../../terminal/adapters/mqtt-sync.js';
import { TcpInput } from '../../terminal/io/tcp.js';
import { SqliteStore } from '../../terminal/store/sqlite.js';
import { SimPort as FakePort } from '../../testkit/sim-port.js';
import { waitFor as waitUntil } from '../../testkit/wait.js';

/** (check, timeout, what) order, as these tests were written; testkit's waitFor takes (what, check, timeout). */
const waitFor = (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) =>
  waitUntil(what, check, timeoutMs);

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'passgate-security-terminal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => statSync(p).mode & 0o777;

describe('terminal hardening', () => {
  it('item 8: a captured open_gate_once is refused after the terminal restarts', () => {
    const listKey = generateKeyPair('EdDSA');
    const captured = signCommand(listKey, {
      terminal: 'gate-1',
      command: 'open_gate_once',
      id: '0123456789abcdef',
      t: Date.now(),
    });
    const ran: Command[] = [];
    const deliver = () => {
      const store = new SqliteStore(join(dir, 'cmd', 'terminal.db'));
      store.open();
      const port = Object.assign(new FakePort('gate-1', listKey.publicKey), {
        commandAlreadyRun: (id: string, now: number) => store.commands.alreadyRun(id, now),
        recordCommandRun: (id: string, exp: number) => store.commands.record(id, exp),
      });
      // Never started: the message goes straight to the handler a broker delivery reaches.
      const sync = new MqttSync(port, {
        url: 'mqtt://127.0.0.1:1',
        username: 'gate-1',
        password: 'x',
        terminalKey: generateKeyPair('EdDSA'),
        listKey: new VerifyKey('EdDSA', listKey.publicKey),
        logger,
        onCommand: (c) => ran.push(c),
      });
      const handler = sync as unknown as { onMessage(topic: string, payload: Uint8Array): void };
      handler.onMessage(topics.cmd('gate-1'), captured);
      handler.onMessage(topics.cmd('gate-1'), captured); // QoS 1 redelivery
      store.close();
    };
    deliver();
    deliver(); // the terminal restarted; the attacker replays the captured command
    console.log(`[item 8] open_gate_once delivered 4 times across a restart: ran ${ran.length} time(s)`);
    expect(ran).toEqual(['open_gate_once']);
  });

  it('item 9: data folders 0700; terminal.db, central.db with -wal/-shm and state.json 0600', async () => {
    const old = process.umask(0o022);
    try {
      const t = new SqliteStore(join(dir, 'modes', 'terminal', 'terminal.db'));
      t.open();
      t.commitEvent({ kind: 'tamper', at: Date.now() });
      expect(mode(join(dir, 'modes', 'terminal'))).toBe(0o700);
      for (const f of ['terminal.db', 'terminal.db-wal', 'terminal.db-shm'])
        expect(mode(join(dir, 'modes', 'terminal', f))).toBe(0o600);
      t.close();

      const c = new SqliteCentralStore(join(dir, 'modes', 'central.db'));
      await c.init();
      await c.addAlert({ at: 1, kind: 'seq_conflict', terminal: 'x', detail: {} });
      for (const f of ['central.db', 'central.db-wal', 'central.db-shm'])
        expect(mode(join(dir, 'modes', f))).toBe(0o600);
      await c.close();

      const issuerDir = join(dir, 'modes', 'issuer');
      IssuerKeystore.init(issuerDir, { alg: 'EdDSA', issuer: 'city' });
      expect(mode(issuerDir)).toBe(0o700);
      expect(mode(join(issuerDir, 'state.json'))).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('item 10: idle connections cannot lock the TCP input out', async () => {
    const input = new TcpInput(
      { type: 'tcp', name: 'tcp', host: '127.0.0.1', port: 0, maxLineLength: 256, repeatIgnoreMs: 0 },
      logger,
      { idleTimeoutMs: 1500, maxConnections: 16 },
    );
    await input.start({
      scan: async () => ({ decision: 'deny', reason: 'malformed', seq: null }),
      ignored: () => undefined,
    });
    const open = (): Promise<Socket> =>
      new Promise((res, rej) => {
        const s = connect(input.port, '127.0.0.1', () => res(s));
        s.on('error', rej);
      });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 16; i++) idle.push(await open());
      for (const s of idle) s.on('error', () => undefined);
      const s17 = await open();
      const answer = await new Promise<string>((res, rej) => {
        s17.once('data', (d) => res(d.toString()));
        s17.once('close', () => rej(new Error('the 17th connection was closed')));
        s17.write('hello\n');
      });
      expect(answer).toContain('malformed');
      // the oldest idle one made room; the others close on their idle timeout
      await waitFor(() => idle.every((s) => s.destroyed || s.readableEnded), 10_000, 'idle closed');
      s17.destroy();
    } finally {
      for (const s of idle) s.destroy();
      await input.stop();
    }
  });
});
