// Which hardware a terminal is expected to have, and whether it is there. Read-only: nothing here opens a
// reader, claims a device or lists serial ports without udev (SerialPort.list() spawns udevadm and dies
// unhandled without it).
// Expectations come from the terminal config (input/output entries with a `type`: pcsc, serial, hid,
// relay, as the hardware registry writes them) and from provision.json `expect` (for terminals whose
// config does not name its hardware).
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { which } from './process.js';

export const DEFAULT_PCSCD_SOCKET = '/run/pcscd/pcscd.comm';

export interface HardwareExpectations {
  pcsc: boolean;
  serial: string[];
  hid: { vendorId: number; productId: number }[];
  relay: string[];
}

export interface ExpectSection {
  pcsc?: boolean;
  serial?: string[];
  /** "VVVV:PPPP" hex. */
  hid?: string[];
  relay?: string[];
}

function entries(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v))
    return v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const nested = ['list', 'devices', 'hardware'].flatMap((k) => entries(o[k]));
    // {pcsc: {...}, serial: {...}} keyed by type
    const keyed = Object.entries(o)
      .filter(([k, x]) => ['pcsc', 'serial', 'hid', 'relay'].includes(k) && x)
      .flatMap(([k, x]) =>
        (Array.isArray(x) ? entries(x) : [{ type: k, ...(typeof x === 'object' ? x : {}) }]).map((e) => ({
          type: k,
          ...e,
        })),
      );
    return [...nested, ...keyed];
  }
  return [];
}

function parseVidPid(text: string): { vendorId: number; productId: number } | undefined {
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(text);
  return m ? { vendorId: parseInt(m[1]!, 16), productId: parseInt(m[2]!, 16) } : undefined;
}

export function expectedHardware(rawConfig: unknown, expect?: ExpectSection): HardwareExpectations {
  const out: HardwareExpectations = { pcsc: false, serial: [], hid: [], relay: [] };
  const c = (rawConfig ?? {}) as Record<string, unknown>;
  for (const e of [...entries(c.inputs), ...entries(c.outputs)]) {
    const type = String(e.type ?? '');
    const path = typeof e.path === 'string' ? e.path : typeof e.device === 'string' ? e.device : undefined;
    if (type === 'pcsc') out.pcsc = true;
    else if (type === 'serial' && path) out.serial.push(path);
    else if ((type === 'relay' || type === 'serial-relay') && path) out.relay.push(path);
    else if (type === 'hid') {
      const v = Number(e.vendorId);
      const p = Number(e.productId);
      if (Number.isInteger(v) && Number.isInteger(p)) out.hid.push({ vendorId: v, productId: p });
    }
  }
  if (expect?.pcsc) out.pcsc = true;
  out.serial.push(...(expect?.serial ?? []));
  out.relay.push(...(expect?.relay ?? []));
  for (const h of expect?.hid ?? []) {
    const id = parseVidPid(h);
    if (id) out.hid.push(id);
  }
  return out;
}

/** Connects to pcscd's socket (stream) and closes: true when the daemon answers. */
export function pcscdAnswers(socketPath = DEFAULT_PCSCD_SOCKET, timeoutMs = 2000): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = connect(socketPath);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A serial device path is present: a character device (or a pty, as socat makes). */
export function serialPresent(path: string): boolean {
  try {
    return statSync(path).isCharacterDevice();
  } catch {
    return false;
  }
}

/** Serial ports the system lists, only when udev is installed (else SerialPort.list() would crash). */
export async function listSerialPorts(): Promise<string[] | undefined> {
  if (!which('udevadm')) return undefined;
  try {
    const { SerialPort } = await import('serialport');
    return (await SerialPort.list()).map((p) => p.path);
  } catch {
    return undefined;
  }
}

/** HID devices by VID:PID (node-hid enumerates without opening anything). */
export async function hidDevicesPresent(
  wanted: { vendorId: number; productId: number }[],
): Promise<{ missing: string[]; error?: string }> {
  const fmt = (v: number) => v.toString(16).padStart(4, '0');
  try {
    const HID = (await import('node-hid')).default;
    const seen = HID.devices();
    const missing = wanted
      .filter((w) => !seen.some((d) => d.vendorId === w.vendorId && d.productId === w.productId))
      .map((w) => `${fmt(w.vendorId)}:${fmt(w.productId)}`);
    return { missing };
  } catch (err) {
    return {
      missing: wanted.map((w) => `${fmt(w.vendorId)}:${fmt(w.productId)}`),
      error: (err as Error).message,
    };
  }
}
