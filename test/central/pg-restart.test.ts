// PostgreSQL restarts under load must not kill central workers (issue 13 item 1). Real processes: two
// `passgate central start` workers on mosquitto + a throwaway PostgreSQL cluster, three simulated
// terminals draining durable outboxes. PostgreSQL is restarted with `pg_ctl -m fast` (every session
// terminated, as in an upgrade) three times while they drain. Both workers must stay alive, report the
// outage on /healthz while the database is down, and end with every event stored exactly once.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/wait.js';
import { exited, scaleOutSuite, type WorkerProcess, type WorkerStatus } from './scale-out-fixture.js';

const { so, ready } = scaleOutSuite();
const EVENTS = 5000;

const acked = async (w: WorkerProcess, id: string): Promise<number> =>
  (await w.api<WorkerStatus>('/status')).terminals.find((t) => t.id === id)?.ackedSeq ?? 0;

describe('PostgreSQL restarts under load', () => {
  it('two workers survive three fast restarts; nothing lost or duplicated; health shows the outage', async (ctx) => {
    if (!ready()) return ctx.skip();
    const w1 = await so.startWorker('w1');
    const w2 = await so.startWorker('w2');
    const ids = ['pg-a', 'pg-b', 'pg-c'];
    const terms = [];
    for (const id of ids) terms.push(so.startTerminal(id, await so.addTerminal(w1, id), EVENTS));
    const alive = () => w1.child.exitCode === null && w2.child.exitCode === null;
    const started = Date.now();

    await waitFor('ingest under way', async () => (await acked(w1, 'pg-a')) > 200, 30_000);
    so.pg!.restart();
    // A stop long enough to see the outage, then a start.
    await waitFor(
      'ingest again',
      async () => (await acked(w1, 'pg-b')) > (await acked(w1, 'pg-a')) / 4,
      30_000,
    );
    so.pg!.pause();
    await waitFor(
      'w2 /healthz reporting the database outage',
      async () => {
        const h = await w2.health();
        return h?.status === 503 && h.body.database === 'unavailable';
      },
      15_000,
    );
    expect(alive()).toBe(true);
    so.pg!.resume();
    await waitFor('w2 healthy again', async () => (await w2.health())?.status === 200, 30_000);
    so.pg!.restart();

    const codes = await Promise.race([
      Promise.all(terms.map(exited)),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000)),
    ]);
    const seconds = (Date.now() - started) / 1000;
    expect(alive(), `a worker died:\n${w1.log().slice(-1500)}\n${w2.log().slice(-1500)}`).toBe(true);
    expect(codes).toEqual([0, 0, 0]);
    for (const id of ids)
      expect(await so.eventsAt(id)).toEqual({ count: EVENTS, maxSeq: EVENTS, acked: EVENTS });
    const s1 = await w1.api<WorkerStatus>('/status');
    const s2 = await w2.api<WorkerStatus>('/status');
    expect(s1.events).toBe(EVENTS * ids.length);
    expect(s1.database.state).toBe('ok');
    expect(s1.database.outages + s2.database.outages).toBeGreaterThanOrEqual(2);
    expect(w1.log() + w2.log()).toMatch(/the database is unavailable/);
    console.info(
      `3 PostgreSQL restarts under load: ${ids.length}×${EVENTS} events exactly once in ${seconds.toFixed(1)} s; ` +
        `workers alive; outages seen w1=${s1.database.outages} w2=${s2.database.outages}`,
    );
  }, 240_000);
});
