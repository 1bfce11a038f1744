// PC/SC readers as an input, with the PC/SC stack kept out of the daemon's thread: nfc-pcsc runs in a
// child process (host.ts) whose heartbeat is watched. A host that goes silent for `watchdogMs` is killed
// and started again; one that exits (pcscd went away) is started again after a short backoff. Meanwhile
// the daemon keeps deciding on its other inputs. Health: `ok` with at least one matching reader,
// `absent` without pcscd or without a reader, `fault` when the host hangs or crashes, or when nfc-pcsc
// is not installed (the reason says how to install it).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { parseUid } from '../../../shared/cards.js';
import type { PcscInputConfig } from '../config.js';
import type { DeviceHealth, InputDevice, InputSink } from '../device.js';
import type { HostMessage } from './protocol.js';

export const PCSC_FIX =
  'install the PC/SC stack and rebuild the binding: sudo apt-get install pcscd libpcsclite-dev, then `npm rebuild @pokusew/pcsclite` ' +
  '(or `npm ci` when nfc-pcsc is missing from node_modules) in the passgate folder, and restart the terminal';

const BACKOFF_MS = [250, 500, 1000, 2000, 4000];
const FIRST_WORD_MS = 3000;

/** host.js next to this file (compiled), or under dist/ when this file runs from TypeScript sources. */
function hostScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = join(here, 'host.js');
  if (existsSync(compiled)) return compiled;
  return resolve(here, '../../../dist/terminal/io/pcsc/host.js');
}

export class PcscInput implements InputDevice {
  readonly type = 'pcsc';
  onHealthChange?: () => void;
  readonly name: string;
  private child: ChildProcess | undefined;
  private sink: InputSink | undefined;
  private stopped = false;
  private lastHeard = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private service: DeviceHealth = { state: 'absent', reason: 'starting' };
  private readers = new Map<string, DeviceHealth>();
  /** Host processes started so far (the first one included). */
  starts = 0;

  constructor(
    private readonly config: PcscInputConfig,
    private readonly logger: Logger,
    private readonly script: string = hostScript(),
  ) {
    this.name = config.name;
  }

  /** Resolves the first time the host says where it stands (or after FIRST_WORD_MS). */
  private firstWord: (() => void) | undefined;

  /** Starts the host and waits (at most FIRST_WORD_MS) for its first report, so health starts out meaningful. */
  async start(sink: InputSink): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    const heard = new Promise<void>((resolve) => {
      this.firstWord = resolve;
      setTimeout(resolve, FIRST_WORD_MS).unref();
    });
    this.spawn();
    this.watchdog = setInterval(() => this.checkHeartbeat(), Math.min(1000, this.config.watchdogMs / 4));
    this.watchdog.unref();
    await heard;
    this.firstWord = undefined;
  }

  private matches(reader: string): boolean {
    return this.config.reader === undefined || reader.startsWith(this.config.reader);
  }

  private spawn(): void {
    if (this.stopped) return;
    this.starts++;
    this.readers.clear();
    this.lastHeard = performance.now();
    let child: ChildProcess;
    try {
      child = fork(this.script, [], {
        execArgv: [],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      });
    } catch (err) {
      this.service = { state: 'fault', reason: `host_failed: ${(err as Error).message}` };
      return this.scheduleRestart();
    }
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('message', (m: HostMessage) => {
      if (this.child === child) this.onMessage(m);
    });
    child.on('error', (err) => this.logger.warn({ err: err.message }, 'pcsc host error'));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.readers.clear();
      if (this.stopped) return;
      if (this.service.reason?.startsWith('driver_missing')) return; // nothing will change until installed
      if (this.service.state === 'ok' || this.service.reason === 'starting')
        this.service = { state: 'fault', reason: `pcsc_host_exited: ${signal ?? `code ${code}`}` };
      this.logger.warn(
        { code, signal, stderr: stderr.trim().split('\n').slice(-3).join(' | ') },
        'pcsc host exited',
      );
      this.onHealthChange?.();
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!;
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  private checkHeartbeat(): void {
    const child = this.child;
    if (!child || this.stopped) return;
    if (performance.now() - this.lastHeard <= this.config.watchdogMs) return;
    this.logger.error(
      { silentMs: Math.round(performance.now() - this.lastHeard) },
      'pcsc host stopped answering: killing it',
    );
    this.service = {
      state: 'fault',
      reason: 'pcsc_host_hung: the PC/SC stack stopped answering (restarting it)',
    };
    this.child = undefined;
    this.readers.clear();
    child.kill('SIGKILL');
    this.onHealthChange?.();
    this.scheduleRestart();
  }

  private onMessage(m: HostMessage): void {
    this.lastHeard = performance.now();
    if (m.type !== 'alive') {
      queueMicrotask(() => this.onHealthChange?.());
      queueMicrotask(() => this.firstWord?.());
    }
    switch (m.type) {
      case 'alive':
        return;
      case 'unavailable':
        this.service = {
          state: 'fault',
          reason: `driver_missing: nfc-pcsc could not be loaded (${m.reason}); ${PCSC_FIX}`,
        };
        this.logger.error({ fix: PCSC_FIX }, 'PC/SC input unavailable: nfc-pcsc is not installed');
        this.child?.kill();
        return;
      case 'service':
        this.service =
          m.state === 'ok' ? { state: 'ok' } : { state: 'absent', reason: m.reason ?? 'pcscd_not_running' };
        if (m.state === 'ok') this.failures = 0;
        return;
      case 'reader':
        if (!this.matches(m.name)) return;
        this.readers.set(m.name, { state: 'ok' });
        this.logger.info({ reader: m.name }, 'reader attached');
        return;
      case 'reader_gone':
        if (this.readers.delete(m.name)) this.logger.warn({ reader: m.name }, 'reader detached');
        return;
      case 'reader_error':
        if (this.readers.has(m.name)) {
          this.readers.set(m.name, { state: 'fault', reason: `reader_error: ${m.message}` });
          this.logger.warn({ reader: m.name, err: m.message }, 'reader error');
        }
        return;
      case 'card':
        if (this.matches(m.reader)) this.onCard(m);
        return;
      case 'card_error':
        if (!this.matches(m.reader)) return;
        this.logger.warn({ reader: m.reader, err: m.message }, 'card gave no UID');
        this.sink?.ignored('garbage', this.name);
        return;
      case 'card_removed':
        if (this.matches(m.reader)) this.readers.set(m.reader, { state: 'ok' });
        return;
      case 'fault':
        this.service = { state: 'fault', reason: m.reason };
        this.logger.warn({ reason: m.reason }, 'pcsc fault');
        return;
    }
  }

  private onCard(m: Extract<HostMessage, { type: 'card' }>): void {
    const uid = parseUid(m.uid);
    if (!uid) {
      this.logger.warn(
        { reader: m.reader, bytes: m.uid.length / 2 },
        'card UID refused (not 4, 7 or 10 bytes)',
      );
      this.sink?.ignored('garbage', this.name);
      return;
    }
    const atr = /^(?:[0-9a-f]{2}){1,33}$/.test(m.atr) ? new Uint8Array(Buffer.from(m.atr, 'hex')) : undefined;
    void this.sink?.scan({
      kind: 'card',
      uid,
      ...(atr ? { atr } : {}),
      input: this.name,
      at: Date.now(),
      ...(this.config.direction ? { direction: this.config.direction } : {}),
    });
  }

  health(): DeviceHealth {
    if (this.service.state !== 'ok') return this.service;
    if (this.readers.size === 0)
      return {
        state: 'absent',
        reason: this.config.reader ? `no_reader: none named ${this.config.reader}…` : 'no_reader',
      };
    return [...this.readers.values()].some((r) => r.state === 'ok')
      ? { state: 'ok' }
      : { state: 'fault', reason: 'reader_error' };
  }

  details(): Record<string, DeviceHealth> {
    return Object.fromEntries(this.readers);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
      await gone;
      clearTimeout(timer);
    }
  }
}
