// The terminal daemon: builds its parts (constructors do no I/O), starts them in order, stops them in
// reverse. Start: store (quick_check, migrations) → keys → clock → pipeline → outputs → health/metrics
// → sync client (when configured) → inputs. Stop: inputs → decision in flight → sync → http → outputs → store.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { fromHex } from '../shared/bytes.js';
import { VerifyKey } from '../shared/keys.js';
import { TerminalClock } from './clock.js';
import { dbPath, type TerminalConfig } from './config.js';
import { TerminalBus } from './events.js';
import { HealthServer } from './http.js';
import type { LineHandler, LineInput } from './inputs/line-input.js';
import { startKiosk } from './kiosk/start.js';
import type { Kiosk } from './kiosk/kiosk.js';
import { StdinLineInput } from './inputs/stdin.js';
import { TcpLineInput } from './inputs/tcp.js';
import { loadCardKey, loadSigningKey } from './keys.js';
import { TerminalMetrics } from './metrics.js';
import { ConsoleOutput } from './outputs/console.js';
import type { GateOutput } from './outputs/output.js';
import { DecisionPipeline } from './pipeline.js';
import { buildReport, type TerminalReport } from './status.js';
import { SqliteStore, WAL_MAX_BYTES } from './store/sqlite.js';
import type { SyncPort } from './sync-port.js';
import { Lifecycle } from '../shared/lifecycle.js';
import type { KeyPair } from '../shared/keys.js';
import type { Command } from '../shared/sync.js';
import { KeyFileError } from './keys.js';
import { TerminalSyncPort } from './sync-port-impl.js';

export interface StartOptions {
  logger: Logger;
  /** Default true: print decisions to stdout as OPEN/DENIED lines. */
  consoleOutput?: boolean;
  /** Extra outputs (hardware, the demo's screen). */
  outputs?: GateOutput[];
  /** Default true: when config.mqtt is set, start the MQTT sync client (terminal/adapters/mqtt-sync.ts). */
  sync?: boolean;
}

export interface RunningTerminal {
  port: SyncPort;
  bus: TerminalBus;
  store: SqliteStore;
  pipeline: DecisionPipeline;
  /** Role kiosk: the library kiosk that takes the input lines instead of the gate pipeline. */
  kiosk?: Kiosk;
  /** Role kiosk with kiosk.screen: the screen page's port. */
  screenPort?: number;
  tcpPort: number | undefined;
  httpPort: number;
  report(): TerminalReport;
  /** Decide one line in-process (same path as an input line). */
  submit(line: string, source?: string): ReturnType<DecisionPipeline['handle']>;
  stop(): Promise<void>;
}

function readSecretFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new KeyFileError(
      `${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

const CHECKPOINT_POLL_MS = 250;
const IDLE_BEFORE_CHECKPOINT_MS = 100;
const FORCE_CHECKPOINT_MS = 3_000;
const PRUNE_EVERY_MS = 60_000;
const CHECKPOINT_EVERY_MS = 60_000;

/**
 * Central's commands (`resync` is handled inside MqttSync). Logged by the command word only. Never throws:
 * a command that fails is logged and the terminal carries on.
 */
export function handleCommand(
  cmd: Command,
  deps: { pipeline: DecisionPipeline; store: SqliteStore; logger: Logger },
): Promise<void> {
  const { pipeline, store, logger } = deps;
  switch (cmd) {
    case 'open_gate_once':
      // Same serialised path as a scan: committed first, then the outputs; a failed commit keeps it closed.
      return pipeline.remoteOpen('central').then(
        (r) => logger.info({ cmd, ...r }, 'remote open from central'),
        (err: unknown) => logger.error({ err, cmd }, 'remote open failed: gate stays closed'),
      );
    case 'reload':
      try {
        store.reloadCaches();
        logger.info({ cmd }, 'reloaded the cached lists from the database');
      } catch (err) {
        logger.error({ err, cmd }, 'reload failed');
      }
      return Promise.resolve();
    case 'resync':
      logger.info({ cmd }, 'resync: fetching the lists again');
      return Promise.resolve();
  }
}

/** What the start steps share once the core is built (constructors only, no I/O). */
interface Core {
  config: TerminalConfig;
  options: StartOptions;
  logger: Logger;
  life: Lifecycle;
  store: SqliteStore;
  signingKey: KeyPair;
  listKey: VerifyKey;
  bus: TerminalBus;
  clock: TerminalClock;
  metrics: TerminalMetrics;
  outputs: GateOutput[];
  pipeline: DecisionPipeline;
  port: TerminalSyncPort;
  report: () => TerminalReport;
  cardKey?: Uint8Array;
}

export async function startTerminal(config: TerminalConfig, options: StartOptions): Promise<RunningTerminal> {
  const logger = options.logger;
  const life = new Lifecycle(logger);
  return life.run(async () => {
    const core = openCore(config, options, life);
    await startOutputs(core);
    const httpPort = await startHealth(core);
    await startSync(core);
    startHousekeeping(core);
    // Inputs stop first on shutdown; the decision in flight finishes before anything else closes.
    life.started('pipeline', () => core.pipeline.drain());
    // Role kiosk: the library kiosk takes the input lines (terminal/kiosk/); a gate's pipeline otherwise.
    const kiosk =
      config.role === 'kiosk'
        ? await startKiosk(
            {
              config,
              store: core.store,
              clock: core.clock,
              bus: core.bus,
              logger,
              ...(core.cardKey ? { cardKey: core.cardKey } : {}),
            },
            life,
          )
        : undefined;
    const handler = (line: string, source: string) =>
      kiosk ? kiosk.kiosk.handleLine(line, source) : core.pipeline.handle(line, source);
    const tcpPort = await startInputs(core, handler);
    logReady(core);
    const { port, bus, store, pipeline, report } = core;
    return {
      port,
      bus,
      store,
      pipeline,
      ...(kiosk ? { kiosk: kiosk.kiosk } : {}),
      ...(kiosk?.screenPort !== undefined ? { screenPort: kiosk.screenPort } : {}),
      tcpPort,
      httpPort,
      report,
      submit: (line, source = 'api') => handler(line, source),
      stop: () => life.stopAll(),
    };
  });
}

/** The store (quick_check, migrations), the keys, and the parts built on them. */
function openCore(config: TerminalConfig, options: StartOptions, life: Lifecycle): Core {
  const logger = options.logger;
  const store = new SqliteStore(dbPath(config));
  store.open({ reserve: true });
  life.started('store', () => store.close());
  store.outbox.onDamage = (seqs) =>
    logger.error(
      { seqs: seqs.slice(0, 20), count: seqs.length, total: store.outbox.damagedRows },
      'outbox rows unreadable: sent as record_lost so the sync goes on (check the storage)',
    );
  store.outbox.onRelease = (shift) =>
    logger.warn(
      { shift, lastSeq: store.outbox.lastSeq },
      "central's ack arrived: the held outbox is released",
    );
  if (store.outbox.held)
    logger.warn('the seq counter was rebuilt by recover: holding the outbox until central acks');
  const signingKey = loadSigningKey(config.signingKeyFile);
  const cardKey = config.cardKeyFile ? loadCardKey(config.cardKeyFile) : undefined;
  const listKey = new VerifyKey('EdDSA', fromHex(config.listPublicKey, 'listPublicKey'));

  const bus = new TerminalBus(logger);
  const clock = new TerminalClock(store.clock, listKey, {
    beaconMaxAgeHours: config.clock.beaconMaxAgeHours,
  });
  const metrics = new TerminalMetrics();
  const outputs: GateOutput[] = [
    ...(options.consoleOutput === false ? [] : [new ConsoleOutput()]),
    ...(options.outputs ?? []),
  ];
  const pipeline = new DecisionPipeline({
    config,
    store,
    clock,
    bus,
    metrics,
    outputs,
    logger: logger.child({ component: 'pipeline' }),
    ...(cardKey ? { cardKey } : {}),
  });
  const port = new TerminalSyncPort({
    config,
    store,
    clock,
    bus,
    listKey,
    logger: logger.child({ component: 'sync' }),
  });
  const report = () => buildReport(config, store, clock, { storageFailing: pipeline.storageFailing });
  return {
    config,
    options,
    logger,
    life,
    store,
    signingKey,
    listKey,
    bus,
    clock,
    metrics,
    outputs,
    pipeline,
    port,
    report,
    ...(cardKey ? { cardKey } : {}),
  };
}

async function startOutputs({ outputs, life }: Core): Promise<void> {
  for (const o of outputs) {
    await o.start();
    life.started(`output ${o.name}`, () => o.stop());
  }
}

/** /healthz and /metrics; returns the port. */
async function startHealth({ config, report, metrics, pipeline, logger, life }: Core): Promise<number> {
  const http = new HealthServer(
    config.http,
    {
      report,
      metrics: () => {
        const r = report();
        const lists: Record<string, { version: number; ageSeconds: number }> = {};
        for (const [t, l] of Object.entries(r.lists))
          lists[t] = { version: l.version, ageSeconds: Math.round(l.ageHours * 3600) };
        return metrics.render({
          outboxDepth: r.outboxDepth,
          lastSeq: r.lastSeq,
          ackedSeq: r.ackedSeq,
          occupancy: r.occupancy,
          clockState: r.clock,
          lists,
          storageFailures: pipeline.storageFailures,
          alerts: pipeline.alerts,
        });
      },
    },
    logger.child({ component: 'http' }),
  );
  await http.start();
  life.started('http', () => http.stop());
  return http.port;
}

/** The MQTT sync client, when configured: it only talks to the daemon through SyncPort (terminal/sync-port.ts). */
async function startSync(core: Core): Promise<void> {
  const { config, options, port, signingKey, listKey, clock, pipeline, store, logger, life } = core;
  if (!config.mqtt || options.sync === false) return;
  const { MqttSync } = await import('./adapters/mqtt-sync.js');
  const password = config.mqtt.passwordFile
    ? readSecretFile(config.mqtt.passwordFile, 'mqtt.passwordFile')
    : '';
  const client = new MqttSync(port, {
    url: config.mqtt.url,
    username: config.mqtt.username ?? config.terminalId,
    password,
    terminalKey: signingKey,
    listKey,
    now: () => clock.nowMs(),
    logger,
    ...(config.mqtt.caFile ? { mqttOptions: { ca: readSecretFile(config.mqtt.caFile, 'mqtt.caFile') } } : {}),
    onCommand: (cmd) => {
      void handleCommand(cmd, { pipeline, store, logger: logger.child({ component: 'command' }) });
    },
  });
  client.start();
  life.started('mqtt', () => client.stop());
}

/**
 * WAL checkpoints when the gate is idle, at least every few seconds under load, and by size after a
 * decision; the disk reserve written again after a full disk; pruning, clock saves.
 */
function startHousekeeping({ bus, store, clock, config, logger, life }: Core): void {
  let lastDecision = 0;
  let lastCheckpoint = performance.now();
  bus.on('decision', () => {
    lastDecision = performance.now();
    // By size too: an unthrottled burst must not grow the WAL until the disk is full.
    try {
      if (store.maintenance.checkpointIfWalOver(WAL_MAX_BYTES)) lastCheckpoint = lastDecision;
    } catch (err) {
      logger.warn({ err }, 'checkpoint by size failed');
    }
  });
  const timers = [
    setInterval(() => {
      const now = performance.now();
      if (now - lastDecision < IDLE_BEFORE_CHECKPOINT_MS && now - lastCheckpoint < FORCE_CHECKPOINT_MS)
        return;
      lastCheckpoint = now;
      try {
        store.maintenance.checkpoint();
      } catch (err) {
        logger.warn({ err }, 'checkpoint failed');
      }
      // The reserve was used on a full disk: write it again once there is room.
      if (!store.maintenance.reserve.present && store.maintenance.restoreReserve())
        logger.info('disk space reserve restored');
    }, CHECKPOINT_POLL_MS),
    setInterval(() => {
      try {
        store.maintenance.prune(
          Math.floor(clock.nowMs() / 1000),
          clock.nowMs() - Math.max(config.antiPassbackSeconds, 60) * 1000,
        );
      } catch (err) {
        logger.warn({ err }, 'cache pruning failed');
      }
    }, PRUNE_EVERY_MS),
    setInterval(() => {
      try {
        clock.checkpoint();
      } catch (err) {
        logger.warn({ err }, 'clock checkpoint failed');
      }
    }, CHECKPOINT_EVERY_MS),
  ];
  for (const t of timers) t.unref();
  life.started('timers', () => timers.forEach((t) => clearInterval(t)));
}

/** Scanner inputs (TCP, stdin); returns the TCP port when there is one. */
async function startInputs(
  { config, metrics, bus, logger, life }: Core,
  handler: LineHandler,
): Promise<number | undefined> {
  const inputs: LineInput[] = [];
  let tcp: TcpLineInput | undefined;
  const hygiene = {
    maxLineLength: config.inputs.maxLineLength,
    repeatIgnoreMs: config.inputs.repeatIgnoreMs,
  };
  if (config.inputs.tcp)
    inputs.push(
      (tcp = new TcpLineInput({ ...config.inputs.tcp, ...hygiene }, logger.child({ component: 'tcp' }))),
    );
  if (config.inputs.stdin) inputs.push(new StdinLineInput(hygiene, logger.child({ component: 'stdin' })));
  for (const input of inputs) {
    await input.start(handler, (why, source) => {
      metrics.observeIgnored(why);
      bus.emit('inputIgnored', { source, why });
    });
    life.started(`input ${input.name}`, () => input.stop());
  }
  return tcp?.port;
}

function logReady({ config, report, logger }: Core): void {
  const r = report();
  logger.info(
    {
      role: config.role,
      gate: config.gate,
      clock: r.clock,
      lists: Object.keys(r.lists),
      lastSeq: r.lastSeq,
      problems: r.problems,
    },
    'terminal ready',
  );
}
