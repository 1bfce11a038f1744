// Central re-signs an unchanged list every hour with a fresh issued_at: the terminal must count list age
// from the newest signature, or a quiet trust list would look 72 h stale and close fail-closed counters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignedList } from '../../shared/lists.js';
import { SqliteStore } from './sqlite.js';

describe('list freshness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'passgate-fresh-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a re-signed copy of the held version refreshes issued_at, never moves it back, and changes nothing else', () => {
    const store = new SqliteStore(join(dir, 'terminal.db'));
    store.open();
    try {
      const list = (issuedAt: number): SignedList => ({
        type: 'revocation',
        version: 3,
        issuedAt,
        snapshot: { serials: [new Uint8Array(16).fill(1)], subjects: [] },
      });
      expect(store.lists.apply(list(1_000), 1)).toBe('apply');
      expect(store.lists.apply(list(5_000), 2)).toBe('already_applied');
      expect(store.lists.versions().revocation).toMatchObject({ version: 3, issuedAt: 5_000 });
      expect(store.lists.apply(list(2_000), 3)).toBe('already_applied');
      expect(store.lists.versions().revocation?.issuedAt).toBe(5_000);
      expect(store.verifier.isRevoked(new Uint8Array(16).fill(1))).toBe(true);
    } finally {
      store.close();
    }
  });
});
