// Receipts to an ESC/POS printer on a real serial pty pair (socat): the bytes the "printer" end receives
// are checked, Traditional Chinese in Big5 inside double-byte mode; and the ASCII fallback.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeText, receiptBytes } from '../../terminal/kiosk/escpos.js';
import type { RunningTerminal } from '../../terminal/daemon.js';
import { commandExists, requireComponent } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';
import { makeLibraryFleet, type LibraryFleet } from './fixture.js';

const hasSocat = requireComponent('socat', commandExists('socat'), 'apt-get install socat');
const hex = (b: Iterable<number>) => Buffer.from([...b]).toString('hex');

describe('ESC/POS receipts', () => {
  it('encodes Chinese as Big5 inside FS & … FS . and leaves ASCII alone', () => {
    expect(hex(encodeText('借出 b001'))).toBe(
      '1c26' + 'ad c9 a5 58'.replace(/ /g, '') + '1c2e' + hex(Buffer.from(' b001')),
    );
    expect(hex(encodeText('😀'))).toBe('3f');
    const ascii = receiptBytes(
      {
        id: 'abc',
        terminal: 'k',
        gate: 'desk',
        member: 'm-1',
        at: 0,
        lines: [{ item: 'b1', action: 'loan', decision: 'accept', reason: 'ok', due: 86_400_000, seq: 1 }],
      },
      { chinese: 'ascii', timeZone: 'UTC' },
    );
    expect(Buffer.from(ascii).toString('latin1')).toBe(
      '\x1b@\x1ba\x01Library receipt\n\x1ba\x00Member: m-1\n1970-01-01 desk\nLoan b1 due 1970-01-02\nReceipt: abc\n\x1dVB\x03',
    );
  });

  describe.skipIf(!hasSocat)('on a socat pty pair', () => {
    let dir: string;
    let socat: ChildProcess;
    let host: SerialPort;
    let fleet: LibraryFleet;
    let t: RunningTerminal;
    const received: number[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'passgate-printer-'));
      socat = spawn(
        'socat',
        [
          '-d',
          '-d',
          `pty,raw,echo=0,link=${join(dir, 'printer')}`,
          `pty,raw,echo=0,link=${join(dir, 'host')}`,
        ],
        { stdio: 'ignore' },
      );
      await waitFor(
        'socat ptys',
        () => existsSync(join(dir, 'printer')) && existsSync(join(dir, 'host')),
        10_000,
      );
      host = new SerialPort({ path: join(dir, 'printer'), baudRate: 19_200 });
      host.on('data', (d: Buffer) => received.push(...d));
      await new Promise<void>((r) => host.on('open', () => r()));
      fleet = makeLibraryFleet({ kiosk: { printer: { path: join(dir, 'host'), chinese: 'big5' } } });
      fleet.writeLists();
      fleet.loadLists();
      t = await fleet.start();
    }, 30_000);
    afterAll(async () => {
      await t?.stop();
      if (host?.isOpen) await new Promise<void>((r) => host.close(() => r()));
      socat?.kill('SIGTERM');
      fleet?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('prints the session receipt after the loans are committed: Big5 labels, items, due dates, cut', async () => {
      await t.submit(fleet.qr(fleet.credential('m-print', [{ k: 'library', v: 'main' }])), 'test');
      const r = (await t.submit('item:b001', 'test')) as unknown as {
        kiosk: { items: Array<{ due: number }> };
      };
      await t.submit('item:ref1', 'test');
      await t.submit('kiosk:done', 'test');
      const receipt = t.kiosk!.view().receipt!;
      const expected = receiptBytes(receipt, { chinese: 'big5' });
      await waitFor('receipt bytes at the printer', () => received.length >= expected.length, 10_000);
      expect(hex(received)).toBe(hex(expected));
      const bytes = Buffer.from(received);
      expect(hex(bytes.subarray(0, 2))).toBe('1b40');
      // 圖書館借閱收據 in Big5 (as Python's big5 codec gives it) between FS & and FS .
      expect(bytes.includes(Buffer.from('1c26b9cfaed1c05dadc9be5ca6acbeda1c2e', 'hex'))).toBe(true);
      const text = bytes.toString('latin1');
      expect(text).toContain(' b001 ');
      expect(text).not.toContain('ref1'); // refused items are not on the receipt
      const due = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Taipei' }).format(
        new Date(r.kiosk.items[0]!.due),
      );
      expect(text).toContain(due);
      expect(hex(bytes.subarray(-4))).toBe('1d564203');
    }, 30_000);
  });
});
