// Exactly one central worker publishes lists and time beacons (issue 13 item 8): a leader lease in
// PostgreSQL (an advisory lock on a dedicated session). Real processes: two `passgate central start`
// workers on mosquitto + PostgreSQL; revocations are made through the follower while a subscriber
// records every list message and beacon in arrival order; the leader is killed with SIGKILL while it
// publishes. The follower must take over within seconds, list versions never go back (each delta is
// newer than anything published before it), beacons stay strictly increasing, and a restarted worker
// joins as a follower.
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { openBeacon } from '../../shared/beacon.js';
import { fromHex } from '../../shared/bytes.js';
import { VerifyKey } from '../../shared/keys.js';
import { isDelta, openList } from '../../shared/lists.js';
import { topics } from '../../shared/sync.js';
import { waitFor } from '../../testkit/wait.js';
import { exited, scaleOutSuite, type WorkerProcess, type WorkerStatus } from './scale-out-fixture.js';

const { so, ready } = scaleOutSuite();

interface Seen {
  at: number;
  kind: 'snapshot' | 'delta' | 'beacon';
  version: number;
}

const status = (w: WorkerProcess) => w.api<WorkerStatus>('/status');
const cti = (n: number) => n.toString(16).padStart(32, '0');

describe('one list publisher across central workers', () => {
  it('the leader is killed mid-publish: the follower takes over within seconds and versions keep increasing', async (ctx) => {
    if (!ready()) return ctx.skip();
    const w1 = await so.startWorker('w1', ['--beacon-every', '0.3']);
    const w2 = await so.startWorker('w2', ['--beacon-every', '0.3']);
    const key = new VerifyKey('EdDSA', fromHex(so.listPublicKeyHex));
    const seen: Seen[] = [];
    const u = new URL(so.brokerUrl);
    const sub = await mqtt.connectAsync(so.broker!.url, {
      username: u.username,
      password: decodeURIComponent(u.password),
      reconnectPeriod: 0,
    });
    sub.on('message', (topic, payload) => {
      if (payload.length === 0) return; // a cleared delta
      const bytes = new Uint8Array(payload);
      if (topic === topics.time) {
        const b = openBeacon(bytes, key);
        if (typeof b !== 'string') seen.push({ at: Date.now(), kind: 'beacon', version: b.seq });
      } else if (topic.startsWith('passgate/v1/lists/revocation/')) {
        const l = openList(bytes, key, 'revocation');
        seen.push({ at: Date.now(), kind: isDelta(l) ? 'delta' : 'snapshot', version: l.version });
      }
    });
    await sub.subscribeAsync(['passgate/v1/lists/revocation/+', topics.time], { qos: 1 });
    try {
      await waitFor('w1 leads', async () => (await status(w1)).publisher.leader, 10_000);
      let n = 0;
      const revokeThroughFollower = async (w: WorkerProcess) => w.api('/revoke', { cti: cti(++n) });
      for (let i = 0; i < 10; i++) await revokeThroughFollower(w2);
      await waitFor(
        'the leader publishing the follower’s changes',
        () => seen.some((s) => s.kind === 'delta' && s.version >= 11),
        10_000,
      );
      const follower = await status(w2);
      expect(follower.publisher).toEqual({ leader: false, snapshots: 0, deltas: 0, beacons: 0 });

      // Kill the leader while changes keep coming (it is publishing a delta per change).
      const churn = (async () => {
        for (let i = 0; i < 30; i++) {
          await revokeThroughFollower(w2);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      const killedAt = Date.now();
      w1.child.kill('SIGKILL');
      await exited(w1.child);
      await waitFor('w2 takes the lease', async () => (await status(w2)).publisher.leader, 15_000);
      const leaderAfterMs = Date.now() - killedAt;
      await churn;
      const finalVersion = (await status(w2)).lists.revocation!.version;
      await waitFor(
        `version ${finalVersion} published by the new leader`,
        () => seen.some((s) => s.kind !== 'beacon' && s.at > killedAt && s.version === finalVersion),
        15_000,
      );
      const firstAfter = seen.find((s) => s.at > killedAt + 0 && s.kind !== 'beacon' && s.at - killedAt > 0);
      const publishedAfterMs = (firstAfter?.at ?? Date.now()) - killedAt;

      // Lists: a delta is always newer than everything before it; a snapshot never older.
      let max = 0;
      let rollbacks = 0;
      for (const s of seen.filter((x) => x.kind !== 'beacon')) {
        if (s.kind === 'delta' ? s.version <= max : s.version < max) rollbacks++;
        max = Math.max(max, s.version);
      }
      const beacons = seen.filter((s) => s.kind === 'beacon').map((s) => s.version);
      const beaconRegressions = beacons.filter((v, i) => i > 0 && v <= beacons[i - 1]!).length;
      console.info(
        `leader killed: w2 leads after ${leaderAfterMs} ms, first list publication after ${publishedAfterMs} ms; ` +
          `${seen.filter((s) => s.kind !== 'beacon').length} list messages, ${rollbacks} version regressions; ` +
          `${beacons.length} beacons, ${beaconRegressions} out of order`,
      );
      expect(rollbacks).toBe(0);
      expect(beaconRegressions).toBe(0);
      expect(max).toBe(finalVersion);
      expect(leaderAfterMs).toBeLessThan(10_000);

      // The restarted worker joins as a follower: w2 keeps the lease.
      const w1b = await so.startWorker('w1');
      await revokeThroughFollower(w1b);
      const v = (await status(w1b)).lists.revocation!.version;
      await waitFor(
        'w2 publishes w1b’s change',
        () => seen.some((s) => s.kind === 'delta' && s.version === v),
        10_000,
      );
      expect((await status(w1b)).publisher).toEqual({ leader: false, snapshots: 0, deltas: 0, beacons: 0 });
      expect((await status(w2)).publisher.leader).toBe(true);
    } finally {
      await sub.endAsync(true);
    }
  }, 180_000);
});
