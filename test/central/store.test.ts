// Runs the CentralStore conformance suite against SQLite (temp file) and a throwaway PostgreSQL cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS as PG_MIGRATIONS, PostgresCentralStore } from '../../central/store/postgres.js';
import { MIGRATIONS as SQLITE_MIGRATIONS, SqliteCentralStore } from '../../central/store/sqlite.js';
import { havePostgres, startPostgres, type PgCluster } from '../../testkit/postgres.js';
import { storeConformance } from './store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'passgate-central-store-'));
let n = 0;
let pgCluster: PgCluster | undefined;

const withPostgres = havePostgres();

beforeAll(async () => {
  if (withPostgres) pgCluster = await startPostgres();
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

storeConformance(
  'postgres',
  async () => {
    const s = new PostgresCentralStore(pgCluster!.createDatabase(`c${n++}`));
    await s.init();
    return s;
  },
  !withPostgres,
);

describe('central schema migrations', () => {
  it('SQLite: records the schema version and refuses a database from a newer passgate', async () => {
    const file = join(dir, `m${n++}.db`);
    const s = new SqliteCentralStore(file);
    await s.init();
    await s.close();
    const raw = new Database(file);
    expect(raw.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    raw.pragma('user_version = 99');
    raw.close();
    await expect(new SqliteCentralStore(file).init()).rejects.toThrow(/schema version 99 is newer/);
  });

  it.skipIf(!withPostgres)(
    'PostgreSQL: refuses a newer schema and releases the advisory lock, so the next worker is not stuck',
    async () => {
      const url = pgCluster!.createDatabase(`m${n++}`);
      const s = new PostgresCentralStore(url);
      await s.init();
      await s.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        expect((await client.query('SELECT max(version) AS v FROM schema_version')).rows[0].v).toBe(
          PG_MIGRATIONS.length,
        );
        await client.query('INSERT INTO schema_version (version) VALUES (99)');
        await expect(new PostgresCentralStore(url).init()).rejects.toThrow(/schema version 99 is newer/);
        // The lock is free again: this session takes it at once.
        expect((await client.query('SELECT pg_try_advisory_lock(7157) AS ok')).rows[0].ok).toBe(true);
      } finally {
        await client.end();
      }
    },
  );
});
