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
import type { InputDevice, InputSink, OutputDevice } from './io/device.js';
import {
  buildInputs,
  buildOutputs,
  HealthWatch,
  reasonCode,
  type DeviceState,
  type HealthTransition,
} from './io/registry.js';
import { stdinEndMeansDone, StdinInput } from './io/stdin.js';
import { TcpInput } from './io/tcp.js';
import { startKiosk } from './kiosk/start.js';
import type { Kiosk } from './kiosk/kiosk.js';
import { loadCardKey, loadSigningKey } from './keys.js';
import { TerminalMetrics } from './metrics.js';
import type { GateOutput } from './outputs/output.js';
import { DecisionPipeline } from './pipeline.js';
import { buildReport, type TerminalReport } from './status.js';
import { SqliteStore, WAL_MAX_BYTES } from './store/sqlite.js';
import type { SyncPort } from './sync-port.js';
import type { MqttSync } from './adapters/mqtt-sync.js';
import { Lifecycle } from '../shared/lifecycle.js';
import { CentralListVersions } from './central-lists.js';
import type { KeyPair } from '../shared/keys.js';
import type { Command } from '../shared/sync.js';
import { KeyFileError } from './keys.js';
import { TerminalSyncPort } from './sync-port-impl.js';

export interface StartOptions {
  logger: Logger;
  /** Default true: console outputs in the config print OPEN/DENIED lines on stdout; false drops them. */
  consoleOutput?: boolean;
  /** Extra outputs besides the configured ones (the demo's screen). */
  outputs?: GateOutput[];
  /** Default true: when config.mqtt is set, start the MQTT sync client (terminal/adapters/mqtt-sync.ts). */
  sync?: boolean;
  /**
   * Before opening the inputs, wait up to this long for the lists central announced (default 0: open at
   * once; a code shown before the lists arrive is denied with lists_missing). For piped input in scripts.
   */
  waitListsMs?: number;
  /** Called once when every input has ended (stdin closed and no other input): the caller may stop. */
  onInputsEnded?: () => void;
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
  /** Central's announced list versions against the ones held here. */
  centralLists: CentralListVersions;
  /** The health report, with the sync link's state when MQTT is configured. */
  report(): TerminalReport & { mqtt?: { connected: boolean } };
  /**
   * Reads the signing key and MQTT secret files again and reconnects with them (credential rotation;
   * SIGHUP). The outbox is untouched: anything not acked is sent again under the new credentials.
   */
  reloadCredentials(): Promise<void>;
  /** Decide one line in-process, in the stdin/TCP simulation syntax (same path as an input line). */
  submit(line: string, source?: string): ReturnType<DecisionPipeline['handle']>;
  /** Resolves once the terminal holds what central announced (true), or after ms (false). */
  waitForLists(ms: number): Promise<boolean>;
  /** Resolves once every outbox event is acknowledged by central (true), or after ms (false). */
  waitForDrain(ms: number): Promise<boolean>;
  /** Stops every part in reverse, each step bounded; true when all finished in time. */
  /** The configured inputs and outputs (terminal/io/registry.ts). */
  inputs: InputDevice[];
  outputs: OutputDevice[];
  stop(): Promise<boolean>;
}

/** Polls `check` every 50 ms until it holds (true) or `ms` passed (false). */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
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
  outputs: OutputDevice[];
  inputs: InputDevice[];
  /** Set once the inputs run: the health of every device, for reports and the status topic. */
  watch: { health?: HealthWatch };
  devices: () => Record<string, DeviceState>;
  pipeline: DecisionPipeline;
  port: TerminalSyncPort;
  centralLists: CentralListVersions;
  /** True once the MQTT sync client runs. */
  syncing: boolean;
  /** The running MQTT client (replaced by reloadCredentials). */
  sync: { client?: MqttSync | undefined };
  report: () => TerminalReport & { mqtt?: { connected: boolean } };
  cardKey?: Uint8Array;
}

export async function startTerminal(config: TerminalConfig, options: StartOptions): Promise<RunningTerminal> {
  const logger = options.logger;
  const life = new Lifecycle(logger);
  return life.run(async () => {
    const core = await openCore(config, options, life);
    await startOutputs(core);
    const httpPort = await startHealth(core);
    await startSync(core);
    life.started('mqtt', () => core.sync.client?.stop());
    startHousekeeping(core);
    // Inputs stop first on shutdown; the decision in flight finishes before anything else closes.
    life.started('pipeline', () => core.pipeline.drain());
    const { port, bus, store, pipeline, report, centralLists, inputs, outputs } = core;
    const waitForLists = (ms: number) => until(() => centralLists.current(), ms);
    if (core.syncing && (options.waitListsMs ?? 0) > 0 && !(await waitForLists(options.waitListsMs!)))
      logger.warn(
        { announced: centralLists.announcedVersions(), held: store.lists.versions() },
        'lists from central did not arrive in time; opening the inputs anyway',
      );
    // Role kiosk: the library kiosk takes the scans (terminal/kiosk/); a gate's pipeline otherwise.
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
    const tcpPort = await startInputs(core, kiosk?.kiosk);
    logReady(core);
    let reloading: Promise<void> = Promise.resolve();
    return {
      port,
      bus,
      store,
      pipeline,
      ...(kiosk ? { kiosk: kiosk.kiosk } : {}),
      ...(kiosk?.screenPort !== undefined ? { screenPort: kiosk.screenPort } : {}),
      tcpPort,
      httpPort,
      centralLists,
      report,
      reloadCredentials: () => (reloading = reloading.then(() => reloadCredentials(core))),
      submit: (line, source = 'api') =>
        kiosk ? kiosk.kiosk.handleLine(line, source) : pipeline.handle(line, source),
      waitForLists,
      waitForDrain: (ms) => until(() => store.outbox.depth === 0, ms),
      inputs,
      outputs,
      stop: () => life.stopAll(),
    };
  });
}

/** The store (quick_check, migrations), the keys, and the parts built on them (devices: no I/O yet). */
async function openCore(config: TerminalConfig, options: StartOptions, life: Lifecycle): Promise<Core> {
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
  const centralLists = new CentralListVersions(() => store.lists.versions());
  const clock = new TerminalClock(store.clock, listKey, {
    beaconMaxAgeHours: config.clock.beaconMaxAgeHours,
  });
  const metrics = new TerminalMetrics();
  const configured = config.outputs.filter((o) => !(o.type === 'console' && options.consoleOutput === false));
  const outputs: OutputDevice[] = [
    ...(await buildOutputs(configured, logger)),
    ...(options.outputs ?? []).map(asDevice),
  ];
  const inputs = await buildInputs(config.inputs, logger);
  const watch: Core['watch'] = {};
  const devices = () => watch.health?.snapshot() ?? {};
  const pipeline = new DecisionPipeline({
    config,
    store,
    clock,
    bus,
    metrics,
    outputs,
    logger: logger.child({ component: 'pipeline' }),
    centralLists,
    ...(cardKey ? { cardKey } : {}),
  });
  const port = new TerminalSyncPort({
    config,
    store,
    clock,
    bus,
    listKey,
    centralLists,
    logger: logger.child({ component: 'sync' }),
    readers: () => readersForStatus(devices()),
  });
  const sync: Core['sync'] = {};
  const report = () => ({
    ...buildReport(config, store, clock, { storageFailing: pipeline.storageFailing, devices: devices() }),
    ...(sync.client ? { mqtt: { connected: sync.client.connected } } : {}),
  });
  return {
    sync,
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
    inputs,
    watch,
    devices,
    pipeline,
    port,
    centralLists,
    syncing: false,
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
async function startHealth({
  config,
  report,
  metrics,
  pipeline,
  logger,
  life,
  devices,
}: Core): Promise<number> {
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
          devices: devices(),
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
async function startSync(core: Core, terminalKey: KeyPair = core.signingKey): Promise<void> {
  const { config, options, port, listKey, clock, pipeline, store, logger } = core;
  if (!config.mqtt || options.sync === false) return;
  const { MqttSync } = await import('./adapters/mqtt-sync.js');
  const password = config.mqtt.passwordFile
    ? readSecretFile(config.mqtt.passwordFile, 'mqtt.passwordFile')
    : '';
  const client = new MqttSync(port, {
    url: config.mqtt.url,
    username: config.mqtt.username ?? config.terminalId,
    password,
    terminalKey,
    listKey,
    now: () => clock.nowMs(),
    logger,
    ...(config.mqtt.caFile ? { mqttOptions: { ca: readSecretFile(config.mqtt.caFile, 'mqtt.caFile') } } : {}),
    onCommand: (cmd) => {
      void handleCommand(cmd, { pipeline, store, logger: logger.child({ component: 'command' }) });
    },
  });
  client.start();
  core.sync.client = client;
  core.syncing = true;
}

/** Credential rotation: both files are read first, so a half-written rotation leaves the link as it was. */
async function reloadCredentials(core: Core): Promise<void> {
  const key = loadSigningKey(core.config.signingKeyFile);
  if (core.config.mqtt?.passwordFile) readSecretFile(core.config.mqtt.passwordFile, 'mqtt.passwordFile');
  const old = core.sync.client;
  core.sync.client = undefined;
  await old?.stop();
  await startSync(core, key);
  core.logger.info('reloaded the terminal key and MQTT secret');
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

/** Every configured input, then the health watch over inputs and outputs; returns the TCP port when there is one. */
async function startInputs(core: Core, kiosk?: Kiosk): Promise<number | undefined> {
  const { config, pipeline, metrics, bus, logger, life, inputs, outputs, watch } = core;
  const sink: InputSink = {
    // A kiosk: typed card and barcode scans (PC/SC, serial/HID inputs of kind barcode) go straight in; a
    // text line (stdin/TCP, a QR scanner) goes through the kiosk's line syntax (`item:`, `kiosk:done`, …).
    scan: (scan) =>
      !kiosk
        ? pipeline.handleScan(scan)
        : scan.kind === 'qr'
          ? kiosk.handleLine(scan.text, scan.input)
          : kiosk.handleScan(scan),

    ignored: (why, source) => {
      metrics.observeIgnored(why);
      bus.emit('inputIgnored', { source, why });
    },
  };
  // stdin is the only input and something fed it (not /dev/null): its end means nothing is left to read.
  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (only instanceof StdinInput && stdinEndMeansDone()) only.onEnd = () => core.options.onInputsEnded?.();
  for (const input of inputs) {
    await input.start(sink);
    life.started(`input ${input.name}`, () => input.stop());
  }
  const ioLog = logger.child({ component: 'io' });
  const health = new HealthWatch(
    () => [
      ...inputs.map((device) => ({ kind: 'input' as const, device })),
      ...outputs.map((device) => ({ kind: 'output' as const, device })),
    ],
    (t) => onDeviceTransition(t, { bus, pipeline, metrics, logger: ioLog }),
  );
  watch.health = health;
  health.start();
  life.started('health watch', () => health.stop());
  for (const note of config.notes) logger.warn(note);
  return inputs.find((i): i is TcpInput => i instanceof TcpInput)?.port;
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

/** Outputs passed in code (the demo's screen) may not report health: they count as always there. */
function asDevice(o: GateOutput): OutputDevice {
  if ('health' in o && typeof (o as OutputDevice).health === 'function') return o as OutputDevice;
  return {
    name: o.name,
    type: 'custom',
    start: () => o.start(),
    show: (s) => o.show(s),
    stop: () => o.stop(),
    health: () => ({ state: 'ok' }),
  };
}

/** A device changed health: bus, metrics, log, and a committed `reader_fault` event central sees. */
function onDeviceTransition(
  t: HealthTransition,
  deps: { bus: TerminalBus; pipeline: DecisionPipeline; metrics: TerminalMetrics; logger: Logger },
): void {
  const { state, reason } = t.to;
  deps.bus.emit('deviceHealth', {
    device: t.device,
    kind: t.kind,
    type: t.type,
    from: t.from,
    state,
    ...(reason ? { reason } : {}),
  });
  deps.metrics.observeDeviceTransition(t.device, state);
  const entry = { device: t.device, type: t.type, from: t.from, state, reason };
  if (state === 'ok') deps.logger.info(entry, 'device ok');
  else deps.logger.warn(entry, state === 'absent' ? 'device absent' : 'device fault');
  void deps.pipeline.record('reader_fault', {
    device: t.device,
    type: t.type,
    state,
    reason: reasonCode(reason),
  });
}

/** The status topic's `readers`: device name → `ok`, `absent: code` or `fault: code`. */
function readersForStatus(devices: Record<string, DeviceState>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, d] of Object.entries(devices))
    out[name] = d.state === 'ok' ? 'ok' : `${d.state}: ${reasonCode(d.reason)}`;
  return out;
}
