// Runs the CentralStore conformance suite against SQLite (temp file) and a throwaway PostgreSQL cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PostgresCentralStore } from '../../central/store/postgres.js';
import { SqliteCentralStore } from '../../central/store/sqlite.js';
import { startPostgres, type PgCluster } from '../../testkit/postgres.js';
import { storeConformance } from './store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'passgate-central-store-'));
let n = 0;
let pgCluster: PgCluster | undefined;

beforeAll(async () => {
  pgCluster = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pgCluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

storeConformance('sqlite', async () => {
  const s = new SqliteCentralStore(join(dir, `c${n++}.db`));
  await s.init();
  return s;
});

storeConformance('postgres', async () => {
  if (!pgCluster) return undefined;
  const s = new PostgresCentralStore(pgCluster.createDatabase(`c${n++}`));
  await s.init();
  return s;
});
