// The kiosk screen in real headless Chromium (Debian's chromium driven by playwright-core): a full
// session driven through the TCP scanner input, asserting what the page shows in English and zh-TW.
// Screenshots go to test-output/kiosk-screen/ (two of them are copied into docs/).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTerminal } from '../../terminal/daemon.js';
import { requireComponent } from '../../testkit/components.js';
import { LineClient, ROOT } from '../terminal/fixture.js';
import { makeLibraryFleet, type LibraryFleet } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'test-output', 'kiosk-screen');
const present = requireComponent('chromium', existsSync(CHROMIUM), 'apt-get install chromium');

describe.skipIf(!present)('kiosk screen in Chromium', () => {
  let fleet: LibraryFleet;
  let t: RunningTerminal;
  let browser: Browser;
  let page: Page;
  let scanner: LineClient;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    fleet = makeLibraryFleet({ kiosk: { screen: { port: 0 }, receiptSeconds: 600 } });
    fleet.writeLists();
    fleet.loadLists();
    t = await fleet.start();
    scanner = await LineClient.connect(t.tcpPort!);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  }, 60_000);

  afterAll(async () => {
    scanner?.close();
    await browser?.close();
    await t?.stop();
    fleet?.cleanup();
  });

  const prompt = () => page.locator('#prompt');

  it('idle → greeting by pseudonym → items with due dates or reasons → receipt, in zh-TW and English', async () => {
    await page.goto(`http://127.0.0.1:${t.screenPort}/`);
    await expect.poll(() => prompt().textContent()).toBe('請掃描借書證或 QR 碼');
    await page.click('#lang-en');
    await expect.poll(() => prompt().textContent()).toBe('Scan your library card or QR code');
    // an item before identification
    await scanner.send('item:b001');
    await expect
      .poll(() => page.locator('#notice').textContent())
      .toBe('Scan your library card or QR code first');
    await scanner.send(fleet.qr(fleet.credential('m-7f3a91', [{ k: 'library', v: 'main', n: 3 }])));
    await expect.poll(() => prompt().textContent()).toBe('Hello, m-7f3a91. Scan the items to borrow');
    for (const item of ['b001', 'd1', 'ref1', 'nope', 'b002', 'b003']) await scanner.send(`item:${item}`);
    const rows = page.locator('#lines li');
    await expect.poll(() => rows.count()).toBe(6);
    const text = await rows.allTextContents();
    expect(text[0]).toMatch(/^b001due \d{4}-\d{2}-\d{2}$/);
    expect(text[2]).toBe('ref1cannot be borrowed (reference only)');
    expect(text[3]).toBe('nopenot in the catalogue');
    expect(text[5]).toBe('b003loan limit reached');
    expect(await page.locator('#lines li.accept').count()).toBe(3);
    const btn = await page.locator('#btn-done').boundingBox();
    expect(btn!.height).toBeGreaterThanOrEqual(64);
    await page.screenshot({ path: join(OUT, 'session-en.png') });
    await page.click('#lang-zh');
    await expect.poll(() => prompt().textContent()).toBe('您好，m-7f3a91。請掃描要借的書');
    expect(await rows.nth(4).textContent()).toMatch(/^b002到期日 \d{4}\/\d{2}\/\d{2}$/);
    await page.screenshot({ path: join(OUT, 'session-zh.png') });
    // the Done button on the screen ends the session: the receipt lists the three loans
    await page.click('#btn-done');
    await expect.poll(() => page.locator('#receipt li').count()).toBe(3);
    expect(await prompt().textContent()).toBe('謝謝，m-7f3a91！');
    await page.screenshot({ path: join(OUT, 'receipt-zh.png') });
    // return mode from the screen
    await page.click('#btn-return');
    await expect.poll(() => prompt().textContent()).toBe('還書模式：請掃描要歸還的書');
    await scanner.send('item:b001');
    await expect.poll(() => page.locator('#lines li').textContent()).toBe('b001已歸還');
  }, 60_000);
});
