// Messages from the PC/SC host process (host.ts) to the daemon (input.ts), over the fork IPC channel.
// The host sends `alive` at least every HEARTBEAT_MS; silence longer than the watchdog means its event
// loop is stuck (nfc-pcsc blocks the thread when pcscd is missing or wedged) and it is killed.

export const HEARTBEAT_MS = 500;

export type HostMessage =
  | { type: 'alive' }
  /** nfc-pcsc (or its native part) could not be loaded: nothing to retry until it is installed. */
  | { type: 'unavailable'; reason: string }
  /** The PC/SC service: `absent` while pcscd is not running, `ok` once a context is established. */
  | { type: 'service'; state: 'ok' | 'absent'; reason?: string }
  | { type: 'reader'; name: string }
  | { type: 'reader_gone'; name: string }
  | { type: 'reader_error'; name: string; message: string }
  /** A card was put on a reader and answered GET DATA with its UID (hex). */
  | { type: 'card'; reader: string; uid: string; atr: string }
  /** A card was present but did not give a UID (no answer, wrong status word, timeout). */
  | { type: 'card_error'; reader: string; message: string }
  | { type: 'card_removed'; reader: string }
  /** A PC/SC-level error: the host exits right after and is started again. */
  | { type: 'fault'; reason: string };

/** Environment variable pcsc-lite reads for its socket; the host checks it before touching the library. */
export const PCSC_SOCKET = process.env.PCSCLITE_CSOCK_NAME ?? '/run/pcscd/pcscd.comm';
