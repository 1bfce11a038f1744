// `provision scan-test`: what the configured inputs read, and the decision a dry run gives, live.
// Nothing is recorded (the pipeline's preview: no event, no replay consumed, no passage), no output is
// driven (no gate opens). The daemon must be stopped first: inputs are exclusive (one process owns the
// scanner, the TCP port), so running both would take scans away from the gate. The inputs are the same
// devices the daemon builds from the config's input list (terminal/io/registry.ts), same line hygiene.
import { createHash } from 'node:crypto';
import pino from 'pino';
import { fromHex } from '../shared/bytes.js';
import { VerifyKey } from '../shared/keys.js';
import { REASON_TEXT, type Reason } from '../shared/reasons.js';
import { TerminalClock } from '../terminal/clock.js';
import { dbPath, loadConfig } from '../terminal/config.js';
import { TerminalBus } from '../terminal/events.js';
import type { InputConfig } from '../terminal/io/config.js';
import type { InputDevice, ScanResponse } from '../terminal/io/device.js';
import type { Scan } from '../terminal/io/scan.js';
import { buildInputs } from '../terminal/io/registry.js';
import { StdinInput } from '../terminal/io/stdin.js';
import { TcpInput } from '../terminal/io/tcp.js';
import { loadCardKey } from '../terminal/keys.js';
import { TerminalMetrics } from '../terminal/metrics.js';
import { DecisionPipeline } from '../terminal/pipeline.js';
import { SqliteStore } from '../terminal/store/sqlite.js';
import { Refused } from './errors.js';
import { paths, runningDaemon } from './terminal-dir.js';

export interface ScanView {
  source: string;
  /** What was read, never the payload itself: "QR code (PG1, 412 chars)", "card (UID hash 3f2a…)". */
  read: string;
  decision?: 'accept' | 'deny';
  reason?: Reason | string;
  explanation?: string;
  ignored?: string;
}

export interface ScanTestOptions {
  dir: string;
  /** Stop after this many lines (default: until stop() or the time limit). */
  count?: number;
  /** Stop after this many seconds (default 300). */
  seconds?: number;
  /** Read stdin too, even if the config does not (a keyboard-wedge scanner on this console). */
  stdin?: boolean;
  onReady?: (inputs: string[]) => void;
  onScan: (v: ScanView) => void;
  /** Resolves when the caller wants to stop early (Ctrl-C). */
  stopSignal?: Promise<void>;
}

function describe(scan: Scan): string {
  if (scan.kind === 'card')
    return `card (UID hash ${createHash('sha256').update(scan.uid).digest('hex').slice(0, 8)}…)`;
  if (scan.kind === 'qr' && scan.text.startsWith('PG1:')) return `QR code (PG1, ${scan.text.length} chars)`;
  return `barcode (${scan.text.length} chars)`;
}

function tcpHost(list: readonly InputConfig[], name: string): string {
  for (const c of list) if (c.type === 'tcp' && c.name === name) return c.host;
  return '127.0.0.1';
}

export async function scanTest(o: ScanTestOptions): Promise<{ lines: number }> {
  const p = paths(o.dir);
  const daemon = runningDaemon(o.dir);
  if (daemon)
    throw new Refused(
      'daemon_running',
      `the daemon runs (pid ${daemon.pid}) and owns the inputs: stop it first (sudo systemctl stop passgate-terminal), ` +
        'run scan-test, then start it again',
    );
  const config = loadConfig(p.config);
  const logger = pino({ level: 'silent' });
  const store = new SqliteStore(dbPath(config));
  store.open();
  const inputs: InputDevice[] = [];
  try {
    const listKey = new VerifyKey('EdDSA', fromHex(config.listPublicKey, 'listPublicKey'));
    const clock = new TerminalClock(store.clock, listKey, {
      beaconMaxAgeHours: config.clock.beaconMaxAgeHours,
    });
    const cardKey = config.cardKeyFile ? loadCardKey(config.cardKeyFile) : undefined;
    const pipeline = new DecisionPipeline({
      config,
      store,
      clock,
      bus: new TerminalBus(logger),
      metrics: new TerminalMetrics(),
      outputs: [],
      logger,
      ...(cardKey ? { cardKey } : {}),
    });
    inputs.push(...(await buildInputs(config.inputs, logger)));
    if (o.stdin && !inputs.some((i) => i.type === 'stdin'))
      inputs.push(
        new StdinInput({ type: 'stdin', name: 'stdin', maxLineLength: 4096, repeatIgnoreMs: 1500 }, logger),
      );
    if (inputs.length === 0)
      throw new Refused(
        'no_inputs',
        'the config has no inputs to test (the inputs list is empty), and --stdin was not given',
      );

    let lines = 0;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const sink = {
      scan: (scan: Scan): Promise<ScanResponse> => {
        const d = pipeline.previewScan(scan);
        lines++;
        o.onScan({
          source: scan.input,
          read: describe(scan),
          decision: d.decision,
          reason: d.reason,
          explanation: REASON_TEXT[d.reason],
        });
        if (o.count !== undefined && lines >= o.count) finish();
        return Promise.resolve({ decision: d.decision, reason: d.reason, seq: null });
      },
      ignored: (why: string, source: string) => o.onScan({ source, read: 'a line', ignored: why }),
    };
    for (const input of inputs) await input.start(sink);
    o.onReady?.(
      inputs.map((i) => (i instanceof TcpInput ? `tcp ${tcpHost(config.inputs, i.name)}:${i.port}` : i.name)),
    );
    const timer = setTimeout(finish, (o.seconds ?? 300) * 1000);
    await Promise.race([done, o.stopSignal ?? new Promise(() => undefined)]);
    clearTimeout(timer);
    return { lines };
  } finally {
    for (const i of inputs.reverse()) await i.stop().catch(() => undefined);
    store.close();
  }
}
