// Central's own MQTT client, the same for the embedded broker and an external one. Incoming messages
// are handed to the handler one at a time and acknowledged (PUBACK) once the handler returns. Ingest's
// handler only queues a batch (it waits for the commit only under backpressure), so the PUBACK says
// "received", not "stored": what the terminal trusts is the ack on t/{id}/ack, published after the commit.
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface LinkOptions {
  url: string;
  username: string;
  password: string;
  /** 4 for aedes (no MQTT 5 yet), 5 for mosquitto (shared subscriptions). */
  protocolVersion: 4 | 5;
  clientId: string;
  logger: Logger;
  /**
   * Skip certificate checks: only for central's own loopback connection to the embedded TLS broker it
   * has just started in this process (its certificate is for the public name, not 127.0.0.1, and may
   * be self-signed).
   */
  ownLoopbackTls?: boolean;
}

export type MessageHandler = (topic: string, payload: Uint8Array) => Promise<void>;

export class CentralLink {
  private client: MqttClient | undefined;
  private readonly log: Logger;
  private readonly reconnectHandlers: (() => void)[] = [];
  /** Connections made since start (the first one included). */
  connects = 0;

  constructor(private readonly opts: LinkOptions) {
    this.log = opts.logger.child({ component: 'central-link' });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(subscriptions: string[], handler: MessageHandler): Promise<void> {
    const client = mqtt.connect(this.opts.url, {
      username: this.opts.username,
      password: this.opts.password,
      protocolVersion: this.opts.protocolVersion,
      clientId: this.opts.clientId,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: false,
      ...(this.opts.ownLoopbackTls ? { rejectUnauthorized: false } : {}),
    });
    this.client = client;
    client.handleMessage = (packet, done) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      handler(packet.topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)).then(
        () => done(),
        (err: Error) => {
          // PUBACK anyway: the terminal keeps the events until an ack on t/{id}/ack and resends them
          // after its ack timeout, so nothing is lost; withholding the PUBACK would only stall the link.
          this.log.error({ err, topic: packet.topic }, 'message handler failed');
          done();
        },
      );
    };
    client.on('connect', () => {
      this.log.info({ url: redactUrl(this.opts.url) }, 'central connected to the broker');
      if (++this.connects > 1)
        for (const h of this.reconnectHandlers)
          try {
            h();
          } catch (err) {
            this.log.error({ err }, 'reconnect handler failed');
          }
      client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
        if (err) this.log.error({ err }, 'subscription failed');
        for (const g of granted ?? [])
          if (g.qos === 128) this.log.error({ topic: g.topic }, 'broker refused central a subscription');
      });
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'MQTT error'));
    client.on('offline', () => this.log.warn('central lost the broker; reconnecting'));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        if ((err as Error & { code?: number }).code !== undefined) {
          client.end(true);
          reject(new Error(`the broker refused central: ${err.message}`));
        }
      };
      client.once('error', onError);
      client.once('connect', () => {
        client.off('error', onError);
        resolve();
      });
    });
  }

  /** Called after every reconnect (not the first connect): e.g. to republish what a broker restart lost. */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  /** QoS 1. Resolves once the broker has it. */
  async publish(topic: string, payload: Uint8Array, retain = false): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('central link is not started');
    await client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
      qos: 1,
      retain,
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true);
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'invalid url';
  }
}
