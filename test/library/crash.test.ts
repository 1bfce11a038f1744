// kill -9 of a kiosk daemon in the middle of a session: every loan the screen showed is committed, every
// committed loan was asked for, at most the one in flight was committed without reaching the screen (the
// kiosk writes to the screen in the same tick as the commit returns), and after a restart the kiosk
// still knows every committed loan (its items are on loan).
import { get, type IncomingMessage } from 'node:http';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/wait.js';
import { ensureBuilt, LineClient, startDaemon, type Daemon } from '../terminal/fixture.js';
import { makeLibraryFleet, type LibraryFleet } from './fixture.js';

interface Shown {
  item: string;
  decision: string;
  action: string;
  seq: number | null;
}

function watchScreen(port: number, onView: (lines: Shown[]) => void): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${port}/events`, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (frame.startsWith('data: ')) onView((JSON.parse(frame.slice(6)) as { lines: Shown[] }).lines);
        }
      });
      res.on('error', () => undefined);
      resolve(res);
    }).on('error', reject);
  });
}

function committedLoans(dbFile: string): Map<string, number> {
  const db = new Database(dbFile, { readonly: true });
  try {
    const out = new Map<string, number>();
    for (const body of db
      .prepare("SELECT body FROM outbox WHERE kind = 'loan' ORDER BY seq")
      .pluck()
      .all() as string[]) {
      const e = JSON.parse(body) as { seq: number; decision: string; data: { item: string } };
      if (e.decision === 'accept') out.set(e.data.item, e.seq);
    }
    return out;
  } finally {
    db.close();
  }
}

describe('kiosk kill -9 mid-session', () => {
  let fleet: LibraryFleet;
  let daemon: Daemon | undefined;

  beforeAll(() => {
    ensureBuilt();
    fleet = makeLibraryFleet({ kiosk: { screen: { port: 0 } } });
    fleet.writeLists();
    fleet.loadLists();
  }, 180_000);
  afterAll(() => {
    daemon?.proc.kill('SIGKILL');
    fleet?.cleanup();
  });

  it('loses no committed loan and commits none the screen did not show (beyond the one in flight)', async () => {
    daemon = await startDaemon(fleet.configFile);
    const shown = new Map<string, number>();
    const screen = await watchScreen(daemon.screenPort!, (lines) => {
      for (const l of lines)
        if (l.decision === 'accept' && l.action === 'loan' && l.seq) shown.set(l.item, l.seq);
    });
    const scanner = await LineClient.connect(daemon.tcpPort);
    await scanner.send(fleet.qr(fleet.credential('m-crash', [{ k: 'library', v: 'main', n: 40 }])));
    const sent = Array.from({ length: 30 }, (_, i) => `b${String(i + 1).padStart(3, '0')}`);
    // The scanner fires every item without waiting; the kill lands while the kiosk is still lending.
    for (const item of sent) scanner.socket.write(`item:${item}\n`);
    await waitFor('five loans on screen', () => shown.size >= 5, 20_000);
    daemon.proc.kill('SIGKILL');
    await daemon.exited;
    scanner.close();
    // What the daemon wrote to the screen before it died is still in the socket: read it to the end.
    await new Promise<void>((resolve) => {
      if (screen.closed) return resolve();
      screen.on('close', () => resolve());
      setTimeout(() => resolve(), 5000).unref();
    });
    screen.destroy();
    const committed = committedLoans(fleet.dbFile);
    for (const [item, seq] of shown) expect(committed.get(item), `${item} was on screen`).toBe(seq);
    for (const item of committed.keys()) expect(sent).toContain(item);
    expect(committed.size - shown.size).toBeLessThanOrEqual(1);

    // Restart: the committed loans are still the kiosk's; another member cannot borrow them.
    daemon = await startDaemon(fleet.configFile);
    const again = await LineClient.connect(daemon.tcpPort);
    await again.send(fleet.qr(fleet.credential('m-other', [{ k: 'library', v: 'main', n: 40 }])));
    const first = [...committed.keys()][0]!;
    expect(await again.send(`item:${first}`)).toMatchObject({
      decision: 'deny',
      reason: 'item_not_loanable',
    });
    const seqs = (() => {
      const db = new Database(fleet.dbFile, { readonly: true });
      try {
        return db.prepare('SELECT seq FROM outbox ORDER BY seq').pluck().all() as number[];
      } finally {
        db.close();
      }
    })();
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    again.close();
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    daemon = undefined;
  }, 120_000);
});
