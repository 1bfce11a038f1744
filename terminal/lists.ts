// Applying signed lists to the store: verify with the pinned list key, anti-rollback, one transaction,
// then a list_applied event in the outbox. Shared by the sync client (via SyncPort) and `terminal load-lists`.
import { ListError, openList } from '../shared/lists.js';
import type { VerifyKey } from '../shared/keys.js';
import type { ListApplyResult } from './sync-port.js';
import { StorageError, StorageFullError, type SqliteStore } from './store/sqlite.js';

export function applySignedListBytes(
  store: SqliteStore,
  listKey: VerifyKey,
  bytes: Uint8Array,
  nowMs: number,
): ListApplyResult {
  try {
    const list = openList(bytes, listKey);
    const check = store.lists.apply(list, nowMs);
    if (check === 'apply')
      store.commitEvent({
        kind: 'list_applied',
        at: Math.max(nowMs, store.clock.record().lastEventAt),
        data: { list: list.type, version: list.version, delta: 'delta' in list },
      });
    return {
      outcome: check === 'apply' ? 'applied' : 'already_applied',
      type: list.type,
      version: list.version,
    };
  } catch (err) {
    if (err instanceof ListError) return { outcome: 'refused', code: err.code, message: err.message };
    if (err instanceof StorageFullError)
      return { outcome: 'refused', code: 'storage_full', message: err.message };
    if (err instanceof StorageError)
      return { outcome: 'refused', code: 'storage_failure', message: err.message };
    throw err;
  }
}
