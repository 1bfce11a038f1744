// Real hardware stand-ins for integration tests: pcscd with the vpcd virtual reader driver and a
// virtual card speaking vpcd's socket protocol, and socat pty pairs for serial devices.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import { commandExists, requireComponent } from './components.js';
import { waitFor } from './wait.js';

export { waitFor } from './wait.js';

export const PCSC_SOCKET = '/run/pcscd/pcscd.comm';
export const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
/** vpcd's card port for its first reader (`Virtual PCD 00 00`); the second reader listens on +1. */
export const VPCD_PORT = 0x8c7b;

function nfcPcscLoads(): boolean {
  try {
    createRequire(import.meta.url)('nfc-pcsc');
    return true;
  } catch {
    return false;
  }
}

/** pcscd, vpcd and a loadable nfc-pcsc, as root; false (loudly) or a CI failure when one is missing. */
export function pcscComponentsPresent(): boolean {
  const isRoot = process.getuid?.() === 0;
  return (
    requireComponent('pcscd', existsSync('/usr/sbin/pcscd'), 'apt-get install pcscd') &&
    requireComponent(
      'vpcd (virtual reader driver)',
      existsSync(VPCD_DRIVER),
      'apt-get install vsmartcard-vpcd',
    ) &&
    requireComponent(
      'nfc-pcsc native binding',
      nfcPcscLoads(),
      'apt-get install libpcsclite-dev, then npm rebuild @pokusew/pcsclite (node scripts/system-deps.mjs does both)',
    ) &&
    requireComponent('root (pcscd -f runs as root)', isRoot, 'run the tests as root')
  );
}

export function socatPresent(): boolean {
  return requireComponent('socat', commandExists('socat'), 'apt-get install socat');
}

/** `pcscd -f -a` in the foreground, as the tests' own child. */
export class Pcscd {
  private proc: ChildProcess | undefined;

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    if (pcscdRunningElsewhere()) throw new Error('another pcscd is running; stop it first');
    this.proc = spawn('/usr/sbin/pcscd', ['-f', '-a'], { stdio: 'ignore' });
    await waitFor('the pcscd socket', () => existsSync(PCSC_SOCKET), 10_000);
  }

  /** SIGTERM (clean: the socket goes away) or SIGKILL (the socket file stays behind). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await gone;
  }
}

/** True when a pcscd not started by these helpers holds the socket (the tests then refuse to run). */
export function pcscdRunningElsewhere(): boolean {
  return spawnSync('pgrep', ['-x', 'pcscd'], { stdio: 'ignore' }).status === 0;
}

/**
 * A contactless card on vpcd's reader: connects to vpcd, answers the ATR request with a MIFARE Classic
 * 1K part-3 ATR (so PC/SC treats it as an ISO 14443-3 tag) and GET DATA with its UID + 90 00.
 * Closing the socket takes the card off the reader.
 */
export class VirtualCard {
  static readonly ATR = Buffer.from('3B8F8001804F0CA000000306030001000000006A', 'hex');
  private socket: Socket | undefined;
  private buf = Buffer.alloc(0);
  apdus: string[] = [];

  constructor(
    private readonly uid: string,
    private readonly port = VPCD_PORT,
  ) {}

  insert(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(this.port, '127.0.0.1', () => resolve());
      s.once('error', reject);
      s.on('data', (d: Buffer) => this.onData(d));
      this.socket = s;
    });
  }

  private send(bytes: Buffer): void {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(bytes.length);
    this.socket?.write(Buffer.concat([head, bytes]));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 2) {
      const n = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + n) return;
      const msg = this.buf.subarray(2, 2 + n);
      this.buf = this.buf.subarray(2 + n);
      if (n === 1) {
        if (msg[0] === 4) this.send(VirtualCard.ATR); // 0 off, 1 on, 2 reset need no answer
        continue;
      }
      const apdu = msg.toString('hex');
      this.apdus.push(apdu);
      if (apdu === 'ffca000000') this.send(Buffer.concat([Buffer.from(this.uid, 'hex'), Buffer.of(0x90, 0)]));
      else this.send(Buffer.of(0x6a, 0x81));
    }
  }

  remove(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }
}

/** A connected pair of ptys (`socat pty,link=A pty,link=B`): what one side writes, the other reads. */
export class PtyPair {
  private proc: ChildProcess | undefined;

  constructor(
    readonly device: string,
    readonly peer: string,
  ) {}

  async start(): Promise<void> {
    this.proc = spawn('socat', [`pty,raw,echo=0,link=${this.device}`, `pty,raw,echo=0,link=${this.peer}`], {
      stdio: 'ignore',
    });
    await waitFor('socat ptys', () => existsSync(this.device) && existsSync(this.peer), 10_000);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await gone;
    await waitFor('socat links removed', () => !existsSync(this.device), 5000);
  }
}

/** The far end of a pty, opened with serialport like any other tty. */
export async function openPeer(
  path: string,
  onData: (b: Buffer) => void = () => undefined,
): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('data', onData);
  port.on('error', () => undefined);
  return port;
}

export function writeTo(port: SerialPort, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    port.write(data, (err) => (err ? reject(err) : port.drain(() => resolve()))),
  );
}

export function closePeer(port: SerialPort | undefined): Promise<void> {
  if (!port?.isOpen) return Promise.resolve();
  return new Promise((resolve) => port.close(() => resolve()));
}
