// The PC/SC host: a child process of the daemon that owns nfc-pcsc. `new NFC()` blocks the whole thread
// when pcscd is not running, so the daemon never loads nfc-pcsc itself; it forks this file, listens to
// its messages (protocol.ts) and kills it when the heartbeat stops (pcsc/input.ts).
// The UID is read with GET DATA (FF CA 00 00 00), the PC/SC part 3 command every contactless reader
// answers for ISO 14443-3 and -4 cards; nfc-pcsc's own processing (which needs an AID for -4 cards) is off.
import { existsSync } from 'node:fs';
import { HEARTBEAT_MS, PCSC_SOCKET, type HostMessage } from './protocol.js';

const GET_UID = Buffer.from([0xff, 0xca, 0x00, 0x00, 0x00]);
const TRANSMIT_TIMEOUT_MS = 2000;

function send(m: HostMessage): void {
  if (process.connected) process.send?.(m);
}

interface NfcReader {
  reader: { name: string };
  autoProcessing: boolean;
  on(event: 'card', cb: (card: { atr?: Buffer }) => void): void;
  on(event: 'card.off', cb: () => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'end', cb: () => void): void;
  transmit(data: Buffer, responseMax: number): Promise<Buffer>;
}
interface NfcInstance {
  on(event: 'reader', cb: (r: NfcReader) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

async function readUid(r: NfcReader): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), TRANSMIT_TIMEOUT_MS);
  });
  try {
    const res = await Promise.race([r.transmit(GET_UID, 16), timeout]);
    if (res.length < 2 || res[res.length - 2] !== 0x90 || res[res.length - 1] !== 0x00)
      throw new Error(`status ${res.subarray(-2).toString('hex') || 'missing'}`);
    return res.subarray(0, res.length - 2).toString('hex');
  } finally {
    clearTimeout(timer);
  }
}

function watch(nfc: NfcInstance): void {
  nfc.on('reader', (r) => {
    const name = r.reader.name;
    r.autoProcessing = false;
    send({ type: 'reader', name });
    r.on('card', (card) => {
      readUid(r).then(
        (uid) => send({ type: 'card', reader: name, uid, atr: card.atr?.toString('hex') ?? '' }),
        (err: Error) => send({ type: 'card_error', reader: name, message: err.message }),
      );
    });
    r.on('card.off', () => send({ type: 'card_removed', reader: name }));
    r.on('error', (err) => send({ type: 'reader_error', name, message: err.message }));
    r.on('end', () => send({ type: 'reader_gone', name }));
  });
  nfc.on('error', (err) => {
    // pcscd went away (RPC transport error) or the context broke: start over in a fresh process.
    send({ type: 'fault', reason: `pcsc_error: ${err.message}` });
    setTimeout(() => process.exit(3), 50);
  });
}

async function main(): Promise<void> {
  setInterval(() => send({ type: 'alive' }), HEARTBEAT_MS);
  send({ type: 'alive' });
  let NFC: new () => NfcInstance;
  try {
    NFC = ((await import('nfc-pcsc' as string)) as { NFC: new () => NfcInstance }).NFC;
  } catch (err) {
    send({ type: 'unavailable', reason: (err as Error).message.split('\n')[0]! });
    return;
  }
  // Never construct NFC without the service socket: that call would block this thread for good.
  while (!existsSync(PCSC_SOCKET)) {
    send({ type: 'service', state: 'absent', reason: `pcscd_not_running: no ${PCSC_SOCKET}` });
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
  }
  const nfc = new NFC();
  send({ type: 'service', state: 'ok' });
  watch(nfc);
}

process.on('disconnect', () => process.exit(0));
void main();
