// Library fixtures: a kiosk fleet (terminal fixture + library lists), a catalogue and members, and an
// in-process kiosk terminal with a line helper.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../terminal/config.js';
import { startTerminal, type RunningTerminal } from '../../terminal/daemon.js';
import { applySignedListBytes } from '../../terminal/lists.js';
import { SqliteStore } from '../../terminal/store/sqlite.js';
import { VerifyKey } from '../../shared/keys.js';
import { signList } from '../../shared/lists.js';
import {
  encodeItemsSnapshot,
  encodeMembersSnapshot,
  encodePolicy,
  type CatalogueItem,
  type LoanPolicy,
  type MemberStatus,
} from '../../shared/library.js';
import { makeFleet, type Fleet } from '../terminal/fixture.js';
import { readFileSync, readdirSync } from 'node:fs';

export const POLICY: LoanPolicy = {
  branch: 'main',
  limit: 5,
  types: { book: { days: 21, renewals: 2 }, dvd: { days: 7, renewals: 0 } },
};

/** 30 books b001…b030, 3 DVDs, a reference item, one held for m-carol. */
export function catalogue(): CatalogueItem[] {
  const items: CatalogueItem[] = [];
  for (let i = 1; i <= 30; i++)
    items.push({ barcode: `b${String(i).padStart(3, '0')}`, type: 'book', loanable: true });
  for (let i = 1; i <= 3; i++) items.push({ barcode: `d${i}`, type: 'dvd', loanable: true });
  items.push({ barcode: 'ref1', type: 'book', loanable: false });
  items.push({ barcode: 'hold1', type: 'book', loanable: true, holdFor: 'm-carol' });
  return items;
}

export const MEMBERS: MemberStatus[] = [
  { sub: 'm-blocked', blocked: true, loans: [] },
  {
    sub: 'm-carol',
    blocked: false,
    loans: [
      { barcode: 'b030', loanedAt: Date.now() - 86_400_000, due: Date.now() + 86_400_000, renewals: 2 },
    ],
  },
];

export interface LibraryFleet extends Fleet {
  /** Writes library.cose, items.cose and members.cose (version 1) into listsDir. */
  writeLists(): void;
  /** Applies every list in listsDir to the kiosk's store (daemon stopped). */
  loadLists(): void;
  start(): Promise<RunningTerminal>;
}

export function makeLibraryFleet(config: Record<string, unknown> = {}): LibraryFleet {
  const fleet = makeFleet(
    {
      terminalId: 'kiosk-1',
      role: 'kiosk',
      gate: 'main-kiosk-1',
      directions: ['in'],
      requirement: { k: 'library', v: 'main' },
      ...config,
    },
    { cards: [{ uid: '04c0ffee', sub: 'm-dave' }] },
  );
  const now = Math.floor(Date.now() / 1000);
  return {
    ...fleet,
    writeLists() {
      const w = (type: 'library' | 'items' | 'members', snapshot: Map<string, unknown>) =>
        writeFileSync(
          join(fleet.listsDir, `${type}.cose`),
          signList(fleet.listKey, { type, version: 1, issuedAt: now, snapshot }),
        );
      w('library', encodePolicy(POLICY));
      w('items', encodeItemsSnapshot(catalogue()));
      w('members', encodeMembersSnapshot(MEMBERS));
    },
    loadLists() {
      const c = loadConfig(fleet.configFile);
      const store = new SqliteStore(join(c.dataDir, 'terminal.db'));
      store.open();
      try {
        const key = new VerifyKey('EdDSA', fleet.listKey.publicKey);
        const order = ['trust', 'revocation', 'cards', 'library', 'items', 'members'];
        const files = readdirSync(fleet.listsDir)
          .filter((f) => f.endsWith('.cose'))
          .sort((a, b) => order.indexOf(a.split('.')[0]!) - order.indexOf(b.split('.')[0]!));
        for (const f of files) {
          const r = applySignedListBytes(
            store,
            key,
            new Uint8Array(readFileSync(join(fleet.listsDir, f))),
            Date.now(),
          );
          if (r.outcome === 'refused') throw new Error(`${f}: ${r.message}`);
        }
      } finally {
        store.close();
      }
    },
    start() {
      return startTerminal(loadConfig(fleet.configFile), {
        logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
        consoleOutput: false,
      });
    },
  };
}
