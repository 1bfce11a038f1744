// The shared hostile-input list (test/hostile-inputs.json) fed to every API that reads untrusted bytes.
// Each must refuse in its own way (exception type or refusal value), never crash or hang.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openBeacon } from './beacon.js';
import { base45Encode } from './base45.js';
import { fromHex } from './bytes.js';
import { CborError } from './cbor.js';
import { CoseFormatError, parseSign1 } from './cose.js';
import { VerifyKey, generateKeyPair } from './keys.js';
import { ListError, openList } from './lists.js';
import { MemoryStore } from './store.js';
import { openAck, openBatch, openCommand, readStatus } from './sync.js';
import { verify } from './verify.js';

interface Hostile {
  name: string;
  hex?: string;
  repeat?: { hex: string; times: number };
  suffix?: string;
}
const file = JSON.parse(readFileSync(new URL('../test/hostile-inputs.json', import.meta.url), 'utf8')) as {
  inputs: Hostile[];
};
const inputs = file.inputs.map((h) => ({
  name: h.name,
  bytes: fromHex((h.hex ?? '') + (h.repeat ? h.repeat.hex.repeat(h.repeat.times) : '') + (h.suffix ?? '')),
}));

/** What fn threw; fails the test when it returned instead. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, but the input was accepted');
}

const key = new VerifyKey('EdDSA', generateKeyPair('EdDSA').publicKey);

describe('hostile inputs against every reader', () => {
  for (const { name, bytes } of inputs) {
    it(name, () => {
      expect(verify('PG1:' + base45Encode(bytes), new MemoryStore(), { now: 0 }).reason).toBe('malformed');
      const thrown = thrownBy(() => parseSign1(bytes));
      expect(thrown instanceof CborError || thrown instanceof CoseFormatError, String(thrown)).toBe(true);
      const listErr = thrownBy(() => openList(bytes, key));
      expect(listErr).toBeInstanceOf(ListError);
      expect((listErr as ListError).code).toBe('list_malformed');
      expect(openBatch(bytes, key, 'gate-1')).toMatch(/^malformed batch/);
      expect(openBeacon(bytes, key)).toMatch(/^malformed beacon/);
      expect(openAck(bytes, key, 'gate-1')).toMatch(/^malformed ack/);
      expect(openCommand(bytes, key, 'gate-1')).toMatch(/^malformed cmd/);
      expect(readStatus(bytes)).toBeUndefined();
    });
  }

  it('error classes are the exported ones', () => {
    expect(new CborError('x').name).toBe('CborError');
    expect(new CoseFormatError('x').name).toBe('CoseFormatError');
  });
});
