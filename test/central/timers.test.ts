// Timer-driven work in central (periodic snapshots, beacons) survives a failing store or broker: the
// error is logged, central keeps running and publishes again on a later tick.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCentral } from '../../central/index.js';
import { ListPublisher } from '../../central/lists.js';
import { openStore } from '../../central/store/open.js';
import type { CentralStore } from '../../central/store/types.js';
import { generateKeyPair } from '../../shared/keys.js';
import { topics } from '../../shared/sync.js';
import { waitFor } from '../../testkit/wait.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-central-timers-'));
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(unhandled).toEqual([]);
});

/** Makes store.listState reject `times` times from now on (a brief database outage). */
function failListState(store: CentralStore, times: number): { failures: () => number } {
  const orig = store.listState.bind(store);
  let failures = 0;
  store.listState = async (type) => {
    if (failures < times) {
      failures++;
      throw new Error('connection terminated unexpectedly (simulated outage)');
    }
    return orig(type);
  };
  return { failures: () => failures };
}

describe('timer-driven work in central', () => {
  it('the list publisher survives a failing listState and a failing publish, and publishes afterwards', async () => {
    const store = openStore(undefined, join(dir, 'unit.db'));
    await store.init();
    const published: string[] = [];
    let failPublishes = 0;
    const publisher = new ListPublisher({
      source: store,
      listKey: generateKeyPair('EdDSA'),
      publish: async (topic) => {
        if (failPublishes > 0) {
          failPublishes--;
          throw new Error('broker gone (simulated)');
        }
        published.push(topic);
      },
      logger,
      snapshotEveryMs: 20,
      beaconEveryMs: 20,
    });
    try {
      await publisher.start();
      const outage = failListState(store, 2);
      failPublishes = 3;
      await waitFor('failures injected', () => outage.failures() === 2 && failPublishes === 0, 10_000);
      const before = published.length;
      await waitFor(
        'a snapshot after the failures',
        () => published.slice(before).includes(topics.listSnapshot('revocation')),
        10_000,
      );
      await waitFor('a beacon after', () => published.slice(before).includes(topics.time), 10_000);
    } finally {
      publisher.stop();
      await publisher.idle();
      await store.close();
    }
  });

  it('central keeps running and re-snapshots after its store throws from the periodic path', async () => {
    const central = await startCentral({
      dataDir: join(dir, 'central'),
      mqttPort: 0,
      httpPort: -1,
      logger,
      scryptCost: 10,
      snapshotEveryMs: 20,
      beaconEveryMs: 0,
    });
    try {
      const outage = failListState(central.store, 1);
      await waitFor('the simulated outage', () => outage.failures() === 1, 10_000);
      const after = Date.now();
      await waitFor(
        'a snapshot after the outage',
        async () => (await central.store.listState('revocation')).snapshotAt >= after,
        10_000,
      );
      expect((await central.status()).lists.revocation?.version).toBeGreaterThanOrEqual(1);
    } finally {
      await central.stop();
    }
  });
});
