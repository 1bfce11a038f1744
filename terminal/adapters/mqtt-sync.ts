// The terminal's MQTT transport (the only terminal file importing mqtt): connects with backoff, signs and
// publishes the batches the outbox sender (terminal/sync/outbox-sender.ts) chooses, publishes retained
// status (last will = offline) and heartbeats, applies retained lists (snapshot + cumulative delta) and
// time beacons through the SyncPort. Acks and commands are signed with the list key the terminal pinned:
// anything else is logged and ignored; verified commands pass the command gate (terminal/sync/command-gate.ts).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { terminalClientId } from '../../shared/client-id.js';
import { boundedStep, STOP_STEP_MS } from '../../shared/deadline.js';
import type { KeyPair, VerifyKey } from '../../shared/keys.js';
import { openAck, openCommand, signBatch, signStatus, topics, type Command } from '../../shared/sync.js';
import type { SyncPort } from '../sync-port.js';
import { CommandGate } from '../sync/command-gate.js';
import { OutboxSender } from '../sync/outbox-sender.js';
import { systemTimers } from '../sync/timers.js';

export { COMMAND_MAX_AGE_MS, COMMAND_MAX_FUTURE_MS } from '../sync/command-gate.js';

export interface MqttSyncOptions {
  url: string;
  username: string;
  password: string;
  /** The terminal's Ed25519 enrollment key: signs event batches. */
  terminalKey: KeyPair;
  /** The pinned list key: acks and commands from central must be signed with it. */
  listKey: VerifyKey;
  /** The terminal's clock, unix ms (default Date.now): commands older than 5 minutes are refused. */
  now?: () => number;
  logger: Logger;
  batchSize?: number;
  heartbeatMs?: number;
  /** 5 (default) or 4 for a broker without MQTT 5 (the embedded aedes); 5 falls back to 4 once if refused. */
  protocolVersion?: 4 | 5;
  /** Resend the in-flight batch when no ack came within this (default 10 s). */
  ackTimeoutMs?: number;
  /** Reconnect backoff bounds (default 500 ms → 30 s, doubled each failure, with jitter). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Commands other than resync (which the client handles itself). */
  onCommand?: (cmd: Command) => void;
  /** Extra mqtt.js options (TLS CA, …). */
  mqttOptions?: Partial<IClientOptions>;
}

export class MqttSync {
  private client: MqttClient | undefined;
  private readonly log: Logger;
  private readonly sender: OutboxSender;
  private readonly gate: CommandGate;
  private backoff: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribeCommitted: (() => void) | undefined;
  /** Last delta per list topic that could not apply yet (arrived before its snapshot): retried after a snapshot. */
  private readonly heldDeltas = new Map<string, Uint8Array>();
  private protocolVersion: 4 | 5;
  private stopped = false;
  /** Bumped on every connect, so a SUBACK from an earlier connection is ignored. */
  private connection = 0;

  constructor(
    private readonly port: SyncPort,
    private readonly opts: MqttSyncOptions,
  ) {
    this.log = opts.logger.child({ component: 'mqtt-sync', terminal: port.terminalId });
    this.backoff = opts.minBackoffMs ?? 500;
    this.protocolVersion = opts.protocolVersion ?? 5;
    const durable =
      port.commandAlreadyRun && port.recordCommandRun
        ? {
            alreadyRun: (id: string, now: number) => port.commandAlreadyRun!(id, now),
            record: (id: string, exp: number) => port.recordCommandRun!(id, exp),
          }
        : undefined;
    this.gate = new CommandGate(opts.now ?? Date.now, durable);
    this.sender = new OutboxSender({
      pendingEvents: (afterSeq, limit) => port.pendingEvents(afterSeq, limit),
      acknowledge: (seq) => port.acknowledge(seq),
      send: (batch) => this.publishBatch(batch.fromSeq, batch.events),
      timers: systemTimers,
      log: this.log,
      ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
      ...(opts.ackTimeoutMs === undefined ? {} : { ackTimeoutMs: opts.ackTimeoutMs }),
    });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Highest seq central has acknowledged in this run. */
  get ackedSeq(): number {
    return this.sender.ackedSeq;
  }

  start(): void {
    this.stopped = false;
    this.connect();
    this.unsubscribeCommitted = this.port.onEventCommitted(() => this.sender.drain());
    this.heartbeat = setInterval(() => this.publishStatus(), this.opts.heartbeatMs ?? 30_000);
  }

  /**
   * Stops reconnecting and closes the link. Each step is bounded (shared/deadline.ts): a broker that does
   * not answer cannot hold the shutdown (the "offline" status is then left to the broker's last will).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeCommitted?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.sender.stop();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      // A clean stop says so (the will is only for a crash).
      await boundedStep(
        () =>
          client.publishAsync(topics.status(this.port.terminalId), Buffer.from(this.offlineStatus()), {
            qos: 1,
            retain: true,
          }),
        STOP_STEP_MS,
        (why) =>
          this.log.warn({ why: why === 'timeout' ? 'timeout' : why.message }, 'offline status not sent'),
      );
    }
    await boundedStep(() => client.endAsync(true), STOP_STEP_MS);
  }

  /** Statuses are signed with the terminal key, like batches: central binds them to this terminal. */
  private signedStatus(state: 'online' | 'offline'): Uint8Array {
    return signStatus(this.opts.terminalKey, this.port.terminalId, {
      ...this.port.status(),
      state,
      at: Date.now(),
    });
  }

  private offlineStatus(): Uint8Array {
    return this.signedStatus('offline');
  }

  private connect(): void {
    const id = this.port.terminalId;
    const client = mqtt.connect(this.opts.url, {
      ...this.opts.mqttOptions,
      username: this.opts.username,
      password: this.opts.password,
      // The embedded broker accepts exactly this clientId for this username (shared/client-id.ts).
      clientId: terminalClientId(this.opts.username),
      protocolVersion: this.protocolVersion,
      // Subscriptions are made again on every connect and the outbox is the source of truth, so no
      // broker-side session is needed.
      clean: true,
      resubscribe: false,
      reconnectPeriod: this.backoff,
      connectTimeout: 10_000,
      keepalive: 30,
      will: { topic: topics.status(id), payload: Buffer.from(this.offlineStatus()), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload) => this.onMessage(topic, new Uint8Array(payload)));
    client.on('close', () => {
      this.sender.linkDown();
      if (this.stopped) return;
      // Exponential backoff with jitter: mqtt.js reads reconnectPeriod before each attempt.
      const max = this.opts.maxBackoffMs ?? 30_000;
      client.options.reconnectPeriod = Math.round(this.backoff * (0.75 + Math.random() * 0.5));
      this.backoff = Math.min(max, this.backoff * 2);
    });
    client.on('error', (err: Error & { code?: number }) => {
      // Unsupported protocol version: aedes answers MQTT 5 with code 1 (or 132 in MQTT 5 terms).
      if (
        this.protocolVersion === 5 &&
        this.opts.protocolVersion === undefined &&
        (err.code === 1 || err.code === 132)
      ) {
        this.log.info('broker does not speak MQTT 5: falling back to 3.1.1');
        this.protocolVersion = 4;
        client.removeAllListeners();
        client.end(true);
        if (!this.stopped) this.connect();
        return;
      }
      this.log.warn({ err: err.message, code: err.code }, 'MQTT error');
    });
  }

  private onConnect(client: MqttClient): void {
    this.backoff = this.opts.minBackoffMs ?? 500;
    client.options.reconnectPeriod = this.backoff;
    const id = this.port.terminalId;
    const connection = ++this.connection;
    // Whatever was in flight on the previous connection is resent from the first unacked seq.
    this.sender.linkDown();
    this.log.info('connected to central');
    client.subscribe(
      [topics.ack(id), topics.cmd(id), topics.lists, topics.time, topics.replay],
      { qos: 1 },
      (err, granted) => {
        if (connection !== this.connection || this.client !== client) return; // an older connection
        if (err) {
          this.log.warn({ err: err.message }, 'subscription failed');
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) this.log.error({ refused }, 'central refused subscriptions');
        this.publishStatus();
        if (refused.includes(topics.ack(id))) {
          // Without acks every batch would be resent forever: hold the outbox and say so.
          this.log.error('no ack subscription: not sending events (check the broker ACL)');
          return;
        }
        // Only now: an ack for a batch sent before the SUBACK could be missed.
        this.sender.linkUp();
      },
    );
  }

  private publishStatus(): void {
    const client = this.client;
    if (!client?.connected) return;
    const status = this.signedStatus('online');
    client.publish(
      topics.status(this.port.terminalId),
      Buffer.from(status),
      { qos: 1, retain: true },
      (err) => {
        if (err) this.log.debug({ err: err.message }, 'status not published');
      },
    );
  }

  private publishBatch(fromSeq: number, events: Parameters<typeof signBatch>[1]['events']): void {
    const client = this.client;
    if (this.stopped || !client?.connected) return; // resent after the ack timeout or the next SUBACK
    const bytes = signBatch(this.opts.terminalKey, { terminal: this.port.terminalId, fromSeq, events });
    client.publish(topics.events(this.port.terminalId), Buffer.from(bytes), { qos: 1 }, (err) => {
      if (err) this.log.debug({ err: err.message }, 'batch publish interrupted; it will be resent');
    });
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    const id = this.port.terminalId;
    try {
      if (topic === topics.ack(id)) return this.onAck(payload);
      if (topic === topics.time) {
        this.port.applyTimeBeacon(payload);
        return;
      }
      if (topic === topics.cmd(id)) return this.onCommand(payload);
      if (topic === topics.replay) {
        this.port.applyReplayRelay?.(payload);
        return;
      }
      if (topic.startsWith('passgate/v1/lists/')) return this.onList(topic, payload);
    } catch (err) {
      this.log.error({ err, topic }, 'handling a message failed');
    }
  }

  private onAck(payload: Uint8Array): void {
    const ack = openAck(payload, this.opts.listKey, this.port.terminalId);
    if (typeof ack === 'string') {
      this.log.warn({ why: ack }, 'ignored an ack that does not verify');
      return;
    }
    this.sender.onAck(ack.seq);
  }

  private onList(topic: string, payload: Uint8Array): void {
    if (payload.length === 0) return; // a cleared retained delta
    const result = this.port.applySignedList(payload);
    if (result.outcome === 'refused') {
      if (result.code === 'list_gap' && topic.endsWith('/delta')) this.heldDeltas.set(topic, payload);
      this.log.warn({ topic, code: result.code }, 'list refused');
      return;
    }
    this.log.info({ type: result.type, version: result.version, outcome: result.outcome }, 'list received');
    if (topic.endsWith('/snapshot')) {
      const deltaTopic = topic.replace(/\/snapshot$/, '/delta');
      const held = this.heldDeltas.get(deltaTopic);
      if (held) {
        this.heldDeltas.delete(deltaTopic);
        this.onList(deltaTopic, held);
      }
    }
    this.publishStatus();
  }

  private onCommand(payload: Uint8Array): void {
    const signed = openCommand(payload, this.opts.listKey, this.port.terminalId);
    if (typeof signed === 'string') {
      this.log.warn({ why: signed }, 'ignored a command that does not verify');
      return;
    }
    const { command: cmd, id, t } = signed;
    let verdict;
    try {
      verdict = this.gate.admit(id, t);
    } catch (err) {
      this.log.error({ err, cmd, id }, 'could not record the command id: not running it');
      return;
    }
    if (verdict === 'outside_window') {
      this.log.warn(
        { cmd, id, ageMs: (this.opts.now ?? Date.now)() - t },
        'ignored a command outside the 5-minute window',
      );
      return;
    }
    if (verdict === 'already_run') {
      this.log.warn({ cmd, id }, 'ignored a command already run (redelivered or replayed)');
      return;
    }
    this.log.info({ cmd, id }, 'command from central');
    if (cmd === 'resync') {
      // Subscribing again makes the broker resend the retained lists.
      this.client?.unsubscribe(topics.lists, () => this.client?.subscribe(topics.lists, { qos: 1 }));
      return;
    }
    this.opts.onCommand?.(cmd);
  }
}
