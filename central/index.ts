// Central: broker (embedded aedes, or an external one such as mosquitto), ingest, list publisher, fleet
// state and the admin API, started in order and stopped in reverse. `startCentral` is the in-process API
// the CLI, the demo and the tests use.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { CENTRAL_CLIENT_PREFIX } from '../shared/client-id.js';
import { boundedStep } from '../shared/deadline.js';
import { Lifecycle } from '../shared/lifecycle.js';
import type { KeyPair } from '../shared/keys.js';
import { parseTerminalTopic, signAck, topics, type Command } from '../shared/sync.js';
import { loadOrCreateAdminToken } from './admin-token.js';
import type { EnrollmentResult, TerminalCredentials } from '../shared/admin-api.js';
import { CentralAdmin } from './admin.js';
import { CENTRAL_USER } from './broker-auth.js';
import { EmbeddedBroker, type StatusRate } from './broker.js';
import type { GuardLimits } from './broker-guard.js';
import type { LoginLimits } from './login-limiter.js';
import { ReplayRelay } from './replay-relay.js';
import { privateDir } from '../shared/private-files.js';
import { Fleet, type FleetReport } from './fleet.js';
import { AdminHttp } from './http.js';
import { Ingest, type IngestCounters, type IngestQuotas } from './ingest.js';
import { CentralLink, redactUrl } from './link.js';
import { TerminalRequests } from './terminal-requests.js';
import { loadOrCreateCardKey, loadOrCreateListKey } from './list-key.js';
import { CENTRAL_LISTS, ListPublisher } from './lists.js';
import { NeverLeader, SoleLeader, type Leadership } from './leadership.js';
import { isPostgresUrl, openStore } from './store/open.js';
import type { StoreHealth } from './store/outage.js';
import { PostgresLeaderLease } from './store/pg-lease.js';
import type { Alert, CentralListType, CentralStore } from './store/types.js';
import { startEnrollment, type Enrollment, type EnrollOptions } from './enrollment.js';
import type { TerminalEvent } from '../shared/events.js';
import type { TrustedIssuerKey } from '../shared/store.js';
import type { Alg } from '../shared/keys.js';
import { LibraryService, type LibraryReport } from './loans/library.js';

export interface CentralOptions {
  dataDir: string;
  /** Embedded broker port (default 1883; 0 = any free port). Ignored with `broker`. */
  mqttPort?: number;
  mqttHost?: string;
  tls?: { certFile: string; keyFile: string };
  /** Admin HTTP port on 127.0.0.1 (default 8480; 0 = any free port; -1 = no HTTP API). */
  httpPort?: number;
  httpHost?: string;
  /** External broker, e.g. mqtt://central:SECRET@host:1883 (MQTT 5, shared subscription). */
  broker?: string;
  /** postgres://… (default: SQLite file central.db in dataDir). */
  db?: string;
  logger?: Logger;
  /** The list key (from the issuer folder); default: list-key.json in dataDir, created on first start. */
  listKey?: KeyPair;
  /** The fleet card key (from the issuer folder); default: card-key.hex in dataDir, created on first start. */
  cardKey?: Uint8Array;
  /** Bearer token for the admin HTTP API (default: DATA/admin.token, created on first start, mode 0600). */
  adminToken?: string;
  /** URL terminals are told at enrollment (default: the broker's). */
  publicMqttUrl?: string;
  /** log2 scrypt cost for terminal secrets (default 14; tests and benches lower it). */
  scryptCost?: number;
  beaconEveryMs?: number;
  snapshotEveryMs?: number;
  /**
   * Take part in publishing lists and beacons (default true). On PostgreSQL the workers hold a leader
   * lease and exactly one publishes; false keeps this worker out of it.
   */
  publishLists?: boolean;
  /** How often a PostgreSQL worker tries to take the publisher lease (default 1 s). */
  leaseCheckEveryMs?: number;
  workerId?: string;
  /**
   * The HTTPS enrollment listener terminals reach (central/enroll-listener.ts). Off unless given. Its
   * certificate: `enroll.tls`, else `tls` (the broker's), else a self-signed one made in DATA/enroll-tls/.
   */
  enroll?: EnrollOptions;
  /** Socket guard of the embedded broker (docs/security.md); tests and benches may change them. */
  brokerLimits?: Partial<GuardLimits>;
  loginLimits?: LoginLimits;
  statusRate?: StatusRate;
  quotas?: Partial<IngestQuotas>;
  /** Batch window of the fleet-wide replay relay (default 100 ms). */
  replayRelayMs?: number;
}

export interface CentralStatus extends FleetReport {
  lists: Record<string, { version: number; snapshotVersion: number }>;
  events: number;
  ingest: IngestCounters;
  library: LibraryReport;
  /** `unavailable` while the database is down (PostgreSQL restart): nothing is acked meanwhile. */
  database: StoreHealth;
  /** Whether this worker is the one that publishes lists and beacons, and what it published. */
  publisher: { leader: boolean; snapshots: number; deltas: number; beacons: number };
  broker: {
    kind: 'embedded' | 'external';
    url: string;
    clients?: number;
    /** Connections closed by the socket guard, by reason. */
    refused?: Record<string, number>;
  };
  /** Alerts for an operator (seq conflicts, refused gaps, quotas, replays across terminals), newest first. */
  alerts: { total: number; recent: Alert[] };
  /** Replay keys relayed to the fleet. */
  replayRelayed: number;
}

export interface Central {
  mqttPort: number;
  httpPort: number;
  /** Where terminals connect. */
  mqttUrl: string;
  /** 4 on the embedded broker (aedes speaks MQTT 3.1.1), 5 on an external one. */
  protocolVersion: 4 | 5;
  listPublicKey: Uint8Array;
  store: CentralStore;
  /** The enrollment listener (when `enroll` was given): its port, certificate fingerprint and strings. */
  enrollment?: Enrollment;
  /** Loans ledger, conflicts, library lists (central/loans/). */
  library: LibraryService;
  revoke(ctiHex: string): Promise<number>;
  unrevoke(ctiHex: string): Promise<number>;
  suspend(sub: string): Promise<number>;
  unsuspend(sub: string): Promise<number>;
  /** Card bindings (cards list): UIDs are hashed with the fleet card key before anything is stored. */
  bindCard: CentralAdmin['lists']['bindCard'];
  blockCard: CentralAdmin['lists']['blockCard'];
  unbindCard: CentralAdmin['lists']['unbindCard'];
  trustIssuerKey(k: Omit<TrustedIssuerKey, 'kid'>): Promise<number>;
  /** See CentralAdmin.adoptIssuerFolder: revocations and list versions of an issuer folder. */
  adoptIssuerFolder: CentralAdmin['lists']['adoptIssuerFolder'];
  addTerminal(id: string, role: string, publicKey: Uint8Array, alg?: Alg): Promise<TerminalCredentials>;
  createEnrollmentCode(terminal: string, role: string, ttlMs?: number): Promise<string>;
  /**
   * Publishes a command on t/{id}/cmd (QoS 1, not retained). Rejects with an InvalidInput naming the field
   * for an unknown terminal or command. A terminal that is offline never gets it.
   */
  sendCommand(terminalId: string, cmd: Command): Promise<void>;
  enroll(code: string, publicKey: Uint8Array, alg?: Alg): Promise<EnrollmentResult | undefined>;
  /** `central accept-gap`: see CentralStore.acceptGap. Logged. */
  acceptGap(terminal: string, fromSeq: number): Promise<{ before: number; after: number }>;
  /** `central retire`: revokes the terminal's MQTT user, keeps its events. */
  retire(terminal: string): Promise<{ retired: boolean; retiredAt: number }>;
  status(): Promise<CentralStatus>;
  eventCount(terminal?: string): Promise<number>;
  events(terminal: string, afterSeq: number, limit: number): Promise<TerminalEvent[]>;
  /** Stops every part in reverse, each step bounded (shared/lifecycle.ts); true when all finished in time. */
  stop(): Promise<boolean>;
}

function brokerCredentials(url: string): { url: string; username: string; password: string } {
  const u = new URL(url);
  const username = decodeURIComponent(u.username) || CENTRAL_USER;
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, ''), username, password };
}

type Publish = (topic: string, payload: Uint8Array, retain?: boolean) => Promise<void>;

/** The broker side: the embedded broker (started here) or an external one, and central's link to it. */
interface BrokerSide {
  broker: EmbeddedBroker | undefined;
  link: CentralLink;
  /** Where terminals connect. */
  mqttUrl: string;
  protocolVersion: 4 | 5;
  centralSecret: string | undefined;
}

export async function startCentral(opts: CentralOptions): Promise<Central> {
  const logger = (opts.logger ?? pino({ name: 'central' })).child({ worker: opts.workerId ?? 'central' });
  privateDir(opts.dataDir);
  const listKey = opts.listKey ?? loadOrCreateListKey(opts.dataDir);
  const cardKey = opts.cardKey ?? loadOrCreateCardKey(opts.dataDir);
  const store = openStore(opts.db, join(opts.dataDir, 'central.db'), {
    onHealthChange: (h) =>
      h.state === 'ok'
        ? logger.warn({ outages: h.outages }, 'the database is back; central resumes')
        : logger.error(
            { err: h.lastError },
            'the database is unavailable; central retries with backoff and acks nothing meanwhile',
          ),
  });
  await store.init();
  const life = new Lifecycle(logger);
  life.started('store', () => store.close());
  return life.run(async () => {
    // The admin's authenticate() is needed by the broker, and the admin needs the publisher: late-bound.
    const late: { admin?: CentralAdmin; requests?: TerminalRequests } = {};
    const side = await startBroker(
      opts,
      logger,
      life,
      async (u, s, address) =>
        (await late.admin!.auth.authenticate(u, s, address)) ?? (await late.requests?.authenticate(u, s)),
    );
    const publish: Publish = (topic, payload, retain = false) => side.link.publish(topic, payload, retain);
    const leadership = chooseLeadership(opts, logger);
    const publisher = new ListPublisher({
      source: store,
      isLeader: () => leadership.isLeader,
      listKey,
      publish,
      logger,
      ...(opts.snapshotEveryMs !== undefined ? { snapshotEveryMs: opts.snapshotEveryMs } : {}),
      ...(opts.beaconEveryMs !== undefined ? { beaconEveryMs: opts.beaconEveryMs } : {}),
    });
    const library = new LibraryService(store, publisher, logger);
    const relay = new ReplayRelay(listKey, (t, p) => publish(t, p), logger, opts.replayRelayMs);
    life.started('replay relay', () => relay.stop());
    // Acks are retained: a terminal that reconnects (or was recovered and lost its seq counter) learns on
    // subscribing how far central is, before it sends anything. The loans ledger runs before the ack.
    const ingest = new Ingest(store, (t, p) => publish(t, p, true), logger, listKey, {
      ...(opts.quotas ? { quotas: opts.quotas } : {}),
      onPresentations: (keys) => relay.add(keys),
      pendingKey: (t) => late.requests?.pendingKey(t),
      afterCommit: (t, events) => library.batchCommitted(t, events),
    });
    const fleet = new Fleet(store, logger, (t) => ingest.keyFor(t));
    const admin = new CentralAdmin({
      store,
      publisher,
      logger,
      listPublicKey: listKey.publicKey,
      listKey,
      cardKey,
      mqttUrl: () => side.mqttUrl,
      protocolVersion: side.protocolVersion,
      ...(side.centralSecret ? { centralSecret: side.centralSecret } : {}),
      ...(opts.scryptCost !== undefined ? { scryptCost: opts.scryptCost } : {}),
      ...(opts.loginLimits ? { loginLimits: opts.loginLimits } : {}),
      ...(side.broker ? { disconnect: (id: string) => side.broker!.disconnect(id) } : {}),
      onTerminalChanged: (id) => {
        ingest.forget(id);
        publishFirstAck(store, listKey, publish, id, logger);
      },
      publish,
    });
    late.admin = admin;
    late.requests = new TerminalRequests({
      store,
      admin,
      logger,
      ...(opts.scryptCost !== undefined ? { scryptCost: opts.scryptCost } : {}),
    });
    const enrollment = opts.enroll
      ? await startEnrollment(opts.enroll, {
          dataDir: opts.dataDir,
          admin,
          requests: late.requests,
          mqttUrl: side.mqttUrl,
          ...(opts.tls ? { brokerTls: opts.tls } : {}),
          logger,
        })
      : undefined;
    if (enrollment) life.started('enrollment listener', () => enrollment.stop());
    // A terminal (re)connected: tell it the current list versions now, not at the next beacon.
    await startIngest(side, ingest, fleet, life, () => publisher.announce());
    await startPublishing(leadership, publisher, side, logger, life);
    const status = statusReport(opts, store, fleet, ingest, side, leadership, publisher, relay, library);
    const health = async () => {
      const database = await store.ping();
      const brokerUp = side.link.connected;
      return {
        ok: database.state === 'ok' && brokerUp,
        database: database.state,
        broker: brokerUp ? 'connected' : 'disconnected',
        leader: leadership.isLeader,
      };
    };
    const httpPort = await startAdminHttp(opts, admin, status, health, logger, life, library, enrollment);
    logger.info(
      { broker: side.broker ? 'embedded' : 'external', db: opts.db ? 'postgres' : 'sqlite' },
      'central started',
    );
    const { lists: a, registry: r } = admin;
    return {
      mqttPort: side.broker?.port ?? Number(new URL(opts.broker!).port || 1883),
      httpPort,
      mqttUrl: side.mqttUrl,
      protocolVersion: side.protocolVersion,
      listPublicKey: listKey.publicKey,
      store,
      ...(enrollment ? { enrollment } : {}),
      library,
      revoke: (cti) => a.revoke(cti),
      unrevoke: (cti) => a.unrevoke(cti),
      suspend: (sub) => a.suspend(sub),
      unsuspend: (sub) => a.unsuspend(sub),
      bindCard: (uid, b) => a.bindCard(uid, b),
      blockCard: (uid) => a.blockCard(uid),
      unbindCard: (uid) => a.unbindCard(uid),
      trustIssuerKey: (k) => a.trustIssuerKey(k),
      adoptIssuerFolder: (f) => a.adoptIssuerFolder(f),
      addTerminal: (id, role, pk, alg) => r.addTerminal(id, role, pk, alg),
      createEnrollmentCode: (t, role, ttl) => r.createEnrollmentCode(t, role, ttl),
      enroll: (code, pk, alg) => r.enroll(code, pk, alg),
      acceptGap: (t, from) => admin.incidents.acceptGap(t, from),
      retire: (t) => r.retire(t),
      sendCommand: async (id, cmd) => {
        await admin.commands.send(id, cmd);
      },
      status,
      eventCount: (t) => store.eventCount(t),
      events: (t, after, limit) => store.events(t, after, limit),
      stop: async () => {
        const drained =
          (await boundedStep(() => publisher.idle())) && (await boundedStep(() => ingest.idle()));
        const clean = (await life.stopAll()) && drained;
        logger.info({ clean }, 'central stopped');
        return clean;
      },
    };
  });
}

/** Starts the embedded broker (unless `opts.broker` names an external one) and builds central's link. */
async function startBroker(
  opts: CentralOptions,
  logger: Logger,
  life: Lifecycle,
  authenticate: (
    username: string,
    secret: string,
    address: string,
  ) => ReturnType<CentralAdmin['auth']['authenticate']>,
): Promise<BrokerSide> {
  if (opts.broker !== undefined) {
    const c = brokerCredentials(opts.broker);
    const link = new CentralLink({
      ...c,
      protocolVersion: 5,
      // The random part makes the clientId unguessable (a known one could be taken over to kick the
      // worker off the broker); the worker id keeps it readable in the broker's log.
      clientId: `${CENTRAL_CLIENT_PREFIX}${opts.workerId ? `${opts.workerId}-` : ''}${randomBytes(8).toString('hex')}`,
      logger,
    });
    return {
      broker: undefined,
      link,
      mqttUrl: opts.publicMqttUrl ?? c.url,
      protocolVersion: 5,
      centralSecret: undefined,
    };
  }
  const centralSecret = randomBytes(24).toString('base64url');
  const broker = new EmbeddedBroker({
    port: opts.mqttPort ?? 1883,
    host: opts.mqttHost ?? '0.0.0.0',
    ...(opts.tls ? { tls: opts.tls } : {}),
    auth: { authenticate },
    logger,
    ...(opts.brokerLimits ? { limits: opts.brokerLimits } : {}),
    ...(opts.statusRate ? { statusRate: opts.statusRate } : {}),
  });
  await broker.start();
  life.started('broker', () => broker.stop());
  const scheme = opts.tls ? 'mqtts' : 'mqtt';
  const link = new CentralLink({
    url: `${scheme}://127.0.0.1:${broker.port}`,
    username: CENTRAL_USER,
    password: centralSecret,
    protocolVersion: 4,
    clientId: `${CENTRAL_CLIENT_PREFIX}${randomBytes(8).toString('hex')}`,
    logger,
    ...(opts.tls ? { ownLoopbackTls: true } : {}),
  });
  return {
    broker,
    link,
    mqttUrl: opts.publicMqttUrl ?? `${scheme}://127.0.0.1:${broker.port}`,
    protocolVersion: 4,
    centralSecret,
  };
}

/** Connects central's link and routes terminal events to ingest and statuses to the fleet. */
async function startIngest(
  side: BrokerSide,
  ingest: Ingest,
  fleet: Fleet,
  life: Lifecycle,
  onTerminalOnline: () => void,
): Promise<void> {
  await side.link.start(
    [side.broker ? topics.allEvents : topics.sharedEvents, topics.allStatus],
    async (topic, payload) => {
      const t = parseTerminalTopic(topic);
      if (!t) return;
      if (t.leaf === 'events') await ingest.submit(t.terminalId, payload);
      else if (t.leaf === 'status' && (await fleet.handleStatus(t.terminalId, payload))) onTerminalOnline();
    },
  );
  life.started('broker link', () => side.link.stop());
}

function statusReport(
  opts: CentralOptions,
  store: CentralStore,
  fleet: Fleet,
  ingest: Ingest,
  side: BrokerSide,
  leadership: Leadership,
  publisher: ListPublisher,
  relay: ReplayRelay,
  library: LibraryService,
): () => Promise<CentralStatus> {
  return async () => {
    const lists: CentralStatus['lists'] = {};
    for (const type of CENTRAL_LISTS) {
      const s = await store.listState(type);
      lists[type] = { version: s.version, snapshotVersion: s.snapshotVersion };
    }
    return {
      ...(await fleet.report()),
      lists,
      events: await store.eventCount(),
      ingest: { ...ingest.counters },
      library: await library.report(),
      database: store.health(),
      publisher: { leader: leadership.isLeader, ...publisher.counters },
      broker: side.broker
        ? {
            kind: 'embedded',
            url: side.mqttUrl,
            clients: side.broker.connectedClients,
            refused: { ...side.broker.refusedConnections },
          }
        : { kind: 'external', url: redactUrl(opts.broker!) },
      alerts: { total: await store.alertCount(), recent: await store.alerts(20) },
      replayRelayed: relay.relayed,
    };
  };
}

/** The admin HTTP API unless httpPort is -1; returns its port (or -1). */
async function startAdminHttp(
  opts: CentralOptions,
  admin: CentralAdmin,
  status: () => Promise<CentralStatus>,
  health: () => Promise<{ ok: boolean } & Record<string, unknown>>,
  logger: Logger,
  life: Lifecycle,
  library: LibraryService,
  enrollment?: Enrollment,
): Promise<number> {
  if ((opts.httpPort ?? 8480) < 0) return -1;
  const http = new AdminHttp({
    admin,
    status,
    health,
    port: opts.httpPort ?? 8480,
    host: opts.httpHost ?? '127.0.0.1',
    token: opts.adminToken ?? loadOrCreateAdminToken(opts.dataDir),
    logger,
    ...(enrollment ? { enrollmentString: (code: string) => enrollment.stringFor(code) } : {}),
    library,
  });
  await http.start();
  life.started('admin http', () => http.stop());
  return http.port;
}

/** PostgreSQL workers elect one publisher (a lease); SQLite central always publishes; or never. */
function chooseLeadership(opts: CentralOptions, logger: Logger): Leadership {
  if (opts.publishLists === false) return new NeverLeader();
  if (!isPostgresUrl(opts.db)) return new SoleLeader();
  return new PostgresLeaderLease({
    url: opts.db,
    logger,
    ...(opts.leaseCheckEveryMs !== undefined ? { checkEveryMs: opts.leaseCheckEveryMs } : {}),
  });
}

/**
 * Lists and beacons come from the one leader: at start (or when it takes the lease), after every
 * reconnect to the broker (a broker restart without persistence drops the retained lists), and on every
 * change made by any worker (PostgreSQL NOTIFY, plus a periodic catch-up).
 */
async function startPublishing(
  leadership: Leadership,
  publisher: ListPublisher,
  side: BrokerSide,
  logger: Logger,
  life: Lifecycle,
): Promise<void> {
  let publishing = false;
  const republish = (why: string) => {
    if (!publishing || !leadership.isLeader) return;
    logger.info({ why }, 'republishing every list and a time beacon');
    publisher
      .republishAll()
      .catch((err: Error) =>
        logger.error({ err }, 'republishing the lists failed; the next change or tick retries'),
      );
  };
  side.link.onReconnect(() => republish('reconnected to the broker'));
  await leadership.start(
    (leader) => {
      if (leader) republish('took the publisher lease');
    },
    (type) => {
      if ((CENTRAL_LISTS as string[]).includes(type))
        publisher.changed(type as CentralListType).catch(() => undefined);
    },
  );
  life.started('publisher lease', () => leadership.stop());
  await publisher.start();
  publishing = true;
  life.started('list publisher', () => publisher.stop());
}

/** A newly registered terminal finds a retained ack (seq 0 for a new one) from its first connect. */
function publishFirstAck(
  store: CentralStore,
  listKey: KeyPair,
  publish: Publish,
  id: string,
  logger: Logger,
): void {
  void store
    .terminal(id)
    .then((rec) =>
      publish(
        topics.ack(id),
        signAck(listKey, { terminal: id, seq: rec?.ackedSeq ?? 0, t: Date.now() }),
        true,
      ),
    )
    .catch((err: Error) =>
      logger.warn({ terminal: id, err: err.message }, 'could not publish the first ack'),
    );
}
