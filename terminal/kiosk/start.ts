// Builds and starts the kiosk's parts for the daemon (role kiosk): the kiosk itself, then its screen,
// receipt printer and ILS forwarder when configured. Each records its stop with the daemon's Lifecycle.
import type { Lifecycle } from '../../shared/lifecycle.js';
import { Kiosk, type KioskDeps } from './kiosk.js';
import { KioskScreenServer } from './screen-server.js';
import { Sip2Forwarder } from './sip2-forwarder.js';
import { readFileSync } from 'node:fs';
import { receiptBytes } from './escpos.js';

export interface KioskParts {
  kiosk: Kiosk;
  screenPort?: number;
}

export async function startKiosk(deps: Omit<KioskDeps, 'options'>, life: Lifecycle): Promise<KioskParts> {
  const { config } = deps;
  const kiosk = new Kiosk({
    ...deps,
    logger: deps.logger.child({ component: 'kiosk' }),
    options: {
      idleTimeoutMs: config.kiosk.idleTimeoutSeconds * 1000,
      receiptMs: config.kiosk.receiptSeconds * 1000,
      forwardToIls: config.kiosk.sip2 !== undefined,
    },
  });
  kiosk.start();
  life.started('kiosk', () => kiosk.stop());
  const parts: KioskParts = { kiosk };
  const printerConfig = config.kiosk.printer;
  if (printerConfig) {
    // serialport loads a native binding: only a kiosk with a printer pays for it.
    const { SerialReceiptPrinter } = await import('../adapters/serial-printer.js');
    const printer = new SerialReceiptPrinter(printerConfig, deps.logger.child({ component: 'printer' }));
    await printer.start();
    life.started('receipt printer', () => printer.stop());
    kiosk.onReceipt((r) => printer.print(receiptBytes(r, { chinese: printerConfig.chinese })));
  }
  const ils = config.kiosk.sip2;
  if (ils) {
    const forwarder = new Sip2Forwarder(
      kiosk.loans,
      {
        host: ils.host,
        port: ils.port,
        institution: ils.institution,
        location: ils.location,
        ...(ils.user ? { user: ils.user } : {}),
        ...(ils.passwordFile ? { password: readFileSync(ils.passwordFile, 'utf8').trim() } : {}),
      },
      deps.logger.child({ component: 'sip2' }),
    );
    kiosk.onCommitted(() => forwarder.poke());
    forwarder.start();
    life.started('sip2', () => forwarder.stop());
  }
  if (config.kiosk.screen) {
    const screen = new KioskScreenServer(
      kiosk,
      config.kiosk.screen,
      deps.logger.child({ component: 'screen' }),
    );
    await screen.start();
    life.started('kiosk screen', () => screen.stop());
    parts.screenPort = screen.port;
  }
  return parts;
}
