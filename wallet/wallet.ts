// The phone wallet simulator: a device key (P-256, as a secure element holds) and the credentials issued
// to it; presents a fresh PG1 code on demand.
import { existsSync } from 'node:fs';
import { fromHex, toHex } from '../shared/bytes.js';
import { FileProblem, readJson, writeJsonAtomic } from '../shared/files.js';
import { createPresentation, toQrText, type Entitlement } from '../shared/credential.js';
import { generateKeyPair, publicKeyFromSecret } from '../shared/keys.js';

export interface WalletCredential {
  credential: string;
  cti: string;
  sub: string;
  iss: string;
  exp: number;
  ent: Entitlement[];
}

interface WalletFile {
  format: 'passgate-wallet-1';
  deviceSecretKey: string;
  credentials: WalletCredential[];
}

export class Wallet {
  private constructor(
    readonly path: string,
    private readonly secretKey: Uint8Array,
    private file: WalletFile,
  ) {}

  static create(path: string): Wallet {
    if (existsSync(path)) throw new FileProblem(`a wallet already exists at ${path}; pick another --file`);
    const key = generateKeyPair('ES256');
    const file: WalletFile = {
      format: 'passgate-wallet-1',
      deviceSecretKey: toHex(key.secretKey),
      credentials: [],
    };
    const w = new Wallet(path, key.secretKey, file);
    w.save();
    return w;
  }

  static open(path: string): Wallet {
    if (!existsSync(path))
      throw new FileProblem(`no wallet at ${path}; create one with \`passgate wallet new --file ${path}\``);
    const file = readJson(path, 'wallet') as WalletFile;
    if (file.format !== 'passgate-wallet-1' || typeof file.deviceSecretKey !== 'string')
      throw new FileProblem(`${path} is not a passgate wallet file`);
    return new Wallet(path, fromHex(file.deviceSecretKey, 'deviceSecretKey'), file);
  }

  get devicePublicKey(): Uint8Array {
    return publicKeyFromSecret('ES256', this.secretKey);
  }

  get credentials(): readonly WalletCredential[] {
    return this.file.credentials;
  }

  addCredential(credential: Uint8Array, info: Omit<WalletCredential, 'credential'>): void {
    this.file.credentials.push({ credential: Buffer.from(credential).toString('base64'), ...info });
    this.save();
  }

  /**
   * A fresh PG1 QR text for the newest credential (or the one with serial cti), shown at time t. With
   * items it is a phone checkout: the scanned barcodes travel inside the device-signed presentation.
   */
  present(t: number, cti?: string, items?: readonly string[]): string {
    const chosen = cti ? this.file.credentials.find((c) => c.cti === cti) : this.file.credentials.at(-1);
    if (!chosen)
      throw new FileProblem(
        cti
          ? `no credential ${cti} in this wallet`
          : 'this wallet holds no credential yet; issue one with `passgate issuer issue`',
      );
    const credential = new Uint8Array(Buffer.from(chosen.credential, 'base64'));
    return toQrText(
      createPresentation({ credential, deviceSecretKey: this.secretKey, t, ...(items ? { items } : {}) }),
    );
  }

  private save(): void {
    writeJsonAtomic(this.path, this.file, true);
  }
}
