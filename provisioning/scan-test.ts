// `provision scan-test`: what the configured inputs read, and the decision a dry run gives, live.
// Nothing is recorded (the pipeline's preview: no event, no replay consumed, no passage), no output is
// driven (no gate opens). The daemon must be stopped first: inputs are exclusive (one process owns the
// scanner, the TCP port), so running both would take scans away from the gate. The inputs are the same
// classes the daemon uses (terminal/inputs), with the same line hygiene.
import { createHash } from 'node:crypto';
import pino from 'pino';
import { fromHex } from '../shared/bytes.js';
import { VerifyKey } from '../shared/keys.js';
import { REASON_TEXT, type Reason } from '../shared/reasons.js';
import { TerminalClock } from '../terminal/clock.js';
import { dbPath, loadConfig } from '../terminal/config.js';
import { TerminalBus } from '../terminal/events.js';
import type { LineInput, LineResponse } from '../terminal/inputs/line-input.js';
import { StdinLineInput } from '../terminal/inputs/stdin.js';
import { TcpLineInput } from '../terminal/inputs/tcp.js';
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

function describe(line: string): string {
  const body = line.replace(/^(in|out) /, '');
  const card = /^card:([0-9a-fA-F]+)$/i.exec(body);
  if (card)
    return `card (UID hash ${createHash('sha256').update(card[1]!.toLowerCase()).digest('hex').slice(0, 8)}…)`;
  if (body.startsWith('PG1:')) return `QR code (PG1, ${body.length} chars)`;
  return `barcode (${body.length} chars)`;
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
  const inputs: LineInput[] = [];
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
    const hygiene = {
      maxLineLength: config.inputs.maxLineLength,
      repeatIgnoreMs: config.inputs.repeatIgnoreMs,
    };
    let tcp: TcpLineInput | undefined;
    if (config.inputs.tcp)
      inputs.push((tcp = new TcpLineInput({ ...config.inputs.tcp, ...hygiene }, logger)));
    if (config.inputs.stdin || o.stdin) inputs.push(new StdinLineInput(hygiene, logger));
    if (inputs.length === 0)
      throw new Refused(
        'no_inputs',
        'the config has no inputs to test (inputs.tcp or inputs.stdin), and --stdin was not given',
      );

    let lines = 0;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const handler = (line: string, source: string): Promise<LineResponse> => {
      const d = pipeline.preview(line);
      lines++;
      o.onScan({
        source,
        read: describe(line),
        decision: d.decision,
        reason: d.reason,
        explanation: REASON_TEXT[d.reason],
      });
      if (o.count !== undefined && lines >= o.count) finish();
      return Promise.resolve({ decision: d.decision, reason: d.reason, seq: null });
    };
    for (const input of inputs)
      await input.start(handler, (why, source) => o.onScan({ source, read: 'a line', ignored: why }));
    o.onReady?.(inputs.map((i) => (i === tcp ? `tcp ${config.inputs.tcp!.host}:${tcp.port}` : i.name)));
    const timer = setTimeout(finish, (o.seconds ?? 300) * 1000);
    await Promise.race([done, o.stopSignal ?? new Promise(() => undefined)]);
    clearTimeout(timer);
    return { lines };
  } finally {
    for (const i of inputs.reverse()) await i.stop().catch(() => undefined);
    store.close();
  }
}
