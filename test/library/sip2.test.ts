// The SIP2 client mode against a small SIP2 responder written for the test: the exchange checked message
// by message (codes, fixed fields, fields, checksums), and loans made while the ILS is down are forwarded
// once it answers.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumOk, sip2Checksum, sip2Date, withErrorDetection } from '../../terminal/kiosk/sip2.js';
import type { RunningTerminal } from '../../terminal/daemon.js';
import { freePort } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';
import { makeLibraryFleet, type LibraryFleet } from './fixture.js';

/** Answers 93/23/11/09 with 94/24/12/10, each with AY/AZ; records every request as received. */
class Sip2Responder {
  readonly received: string[] = [];
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    this.server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      let buf = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\r'); i !== -1; i = buf.indexOf('\r')) {
          const m = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.received.push(m);
          const seq = /AY(\d)AZ/.exec(m)?.[1] ?? '0';
          const now = sip2Date(Date.now());
          const reply = (body: string) => s.write(withErrorDetection(body, Number(seq)));
          const field = (id: string) => new RegExp(`\\|?${id}([^|]*)\\|`).exec(m)?.[1] ?? '';
          if (!checksumOk(m)) s.write('96\r');
          else if (m.startsWith('93')) reply('941');
          else if (m.startsWith('23'))
            reply(`24              001${now}AOcity|AA${field('AA')}|AEPseudonymous member|BLY|`);
          else if (m.startsWith('11'))
            reply(`121NNY${now}AOcity|AA${field('AA')}|AB${field('AB')}|AJTitle|AH${m.slice(22, 40)}|`);
          else if (m.startsWith('09')) reply(`101YNN${now}AOcity|AB${field('AB')}|AQmain|`);
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}

describe('SIP2 client mode', () => {
  let fleet: LibraryFleet;
  let t: RunningTerminal;
  let ils: Sip2Responder;

  beforeAll(async () => {
    const port = await freePort();
    ils = new Sip2Responder(port);
    fleet = makeLibraryFleet({
      kiosk: { sip2: { host: '127.0.0.1', port, institution: 'city', location: 'main', user: 'kiosk1' } },
    });
    fleet.writeLists();
    fleet.loadLists();
    t = await fleet.start();
  });
  afterAll(async () => {
    await t?.stop();
    await ils?.stop();
    fleet?.cleanup();
  });

  it('computes the SIP2 checksum (two’s complement of the byte sum)', () => {
    // the SC status example every SIP2 implementation quotes
    expect(sip2Checksum('9900401.00AY1AZ')).toBe('FCA5');
    expect(checksumOk('9900401.00AY1AZFCA5')).toBe(true);
    expect(checksumOk('941AY0AZFDFD')).toBe(true);
    expect(checksumOk('941AY0AZFDFC')).toBe(false);
  });

  it('forwards loans made while the ILS was down, then each loan and return message by message', async () => {
    const send = (line: string) => t.submit(line, 'test');
    await send(fleet.qr(fleet.credential('m-sip', [{ k: 'library', v: 'main', n: 5 }])));
    const b1 = (await send('item:b001')) as unknown as { kiosk: { items: Array<{ due: number }> } };
    await send('item:b002');
    await send('kiosk:done');
    await send('kiosk:return');
    await send('item:b001');
    // the ILS was down: everything is still queued, the loans stand
    expect(t.kiosk!.loans.nextForIls()?.action).toMatchObject({ kind: 'loan', item: 'b001' });
    await ils.start();
    await waitFor('ILS queue drained', () => t.kiosk!.loans.nextForIls() === undefined, 15_000);
    const m = ils.received;
    expect(m.every(checksumOk)).toBe(true);
    expect(m.map((x) => x.slice(0, 2))).toEqual(['93', '23', '11', '11', '09']);
    expect(m[0]).toMatch(/^9300CNkiosk1\|CO\|CPmain\|AY0AZ[0-9A-F]{4}$/);
    expect(m[1]).toMatch(/^23001\d{8} {3}Z\d{6}AOcity\|AAm-sip\|AC\|AD\|AY1AZ[0-9A-F]{4}$/);
    // checkout: no renewal, no block (the kiosk already lent it), transaction date, due date
    expect(m[2]).toMatch(/^11NY\d{8} {3}Z\d{6}\d{8} {3}Z\d{6}AOcity\|AAm-sip\|ABb001\|AC\|AY2AZ[0-9A-F]{4}$/);
    expect(m[2]!.slice(22, 40)).toBe(sip2Date(b1.kiosk.items[0]!.due));
    expect(m[3]).toContain('ABb002|');
    expect(m[4]).toMatch(/^09Y\d{8} {3}Z\d{6}\d{8} {3}Z\d{6}APmain\|AOcity\|ABb001\|AC\|AY4AZ[0-9A-F]{4}$/);
  }, 30_000);
});
