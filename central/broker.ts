// The embedded broker: aedes on TCP (or TLS), with per-terminal authentication and the ACL of acl.ts.
// A terminal must use the clientId of its own username (shared/client-id.ts). Refusals are logged
// without the secret. Hardening (issue 8, docs/security.md): every connection passes the socket guard
// (broker-guard.ts: packet size, pre-CONNECT budget and deadline, connections per address) before aedes
// buffers a byte; logins are rate-limited (login-limiter.ts); terminals get clean sessions, exact
// subscription filters only, and a bounded status rate.
import { readFileSync } from 'node:fs';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { CENTRAL_CLIENT_PREFIX, terminalClientId } from '../shared/client-id.js';
import { topics } from '../shared/sync.js';
import { MAX_TERMINAL_SUBSCRIPTIONS, mayPublish, maySubscribe, type Principal } from './acl.js';
import { AddressCounter, DEFAULT_GUARD_LIMITS, GuardedConnection, type GuardLimits } from './broker-guard.js';
import { listen } from '../shared/net.js';
import { TokenBuckets } from './token-bucket.js';

export interface BrokerAuth {
  /** Resolves to who this is, or undefined for an unknown user, a wrong secret or a refused address. */
  authenticate(username: string, secret: string, address: string): Promise<Principal | undefined>;
}

export interface StatusRate {
  /** Status messages a terminal may publish at once. */
  burst: number;
  /** Sustained status messages per second. */
  perSecond: number;
}

/** An honest terminal publishes a status on connect, per list received and per heartbeat (30 s). */
export const DEFAULT_STATUS_RATE: StatusRate = { burst: 30, perSecond: 1 };
/** Refused SUBSCRIBE filters a connection may send before it is closed. */
const MAX_REFUSED_SUBSCRIPTIONS = 64;

export interface EmbeddedBrokerOptions {
  port: number;
  host?: string;
  tls?: { certFile: string; keyFile: string };
  auth: BrokerAuth;
  logger: Logger;
  limits?: Partial<GuardLimits>;
  statusRate?: StatusRate;
}

interface ClientState {
  principal: Principal;
  subscriptions: Set<string>;
  refusedSubscriptions: number;
}

const clients = new WeakMap<Client, ClientState>();

/** A terminal connects only as terminal-{its username}; central's own clients as central-…. */
export function clientIdFits(p: Principal, clientId: string): boolean {
  if (p.kind === 'terminal') return clientId === terminalClientId(p.id);
  return clientId.startsWith(CENTRAL_CLIENT_PREFIX) && clientId.length > CENTRAL_CLIENT_PREFIX.length;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function addressOf(client: Client): string {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
  return conn?.remoteAddress ?? '';
}

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly log: Logger;
  private readonly limits: GuardLimits;
  private readonly statusBudget: TokenBuckets;
  private readonly byTerminal = new Map<string, Client>();
  port = 0;
  /** Connections the guard ended, by reason (for tests and status). */
  readonly refusedConnections: Record<string, number> = {};

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.log = opts.logger.child({ component: 'broker' });
    this.limits = { ...DEFAULT_GUARD_LIMITS, ...opts.limits };
    const rate = opts.statusRate ?? DEFAULT_STATUS_RATE;
    this.statusBudget = new TokenBuckets(rate.burst, rate.perSecond);
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** Ends a terminal's live connection (after it was retired). */
  disconnect(terminalId: string): void {
    const c = this.byTerminal.get(terminalId);
    if (c) c.close();
  }

  private count(why: string): void {
    this.refusedConnections[why] = (this.refusedConnections[why] ?? 0) + 1;
  }

  async start(): Promise<void> {
    const { auth } = this.opts;
    const log = this.log;
    const aedes = await Aedes.createBroker({
      queueLimit: 100_000,
      connectTimeout: this.limits.connectDeadlineMs,
      // Terminals never hold a broker session (the outbox is the source of truth): a persistent session
      // would keep whatever a client subscribed after it left. Central's own link may keep one.
      preConnect: (_client, packet, done) => {
        if (packet.username !== 'central') packet.clean = true;
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const user = username ?? '';
        auth.authenticate(user, password?.toString('utf8') ?? '', addressOf(client)).then(
          (p) => {
            if (p && !clientIdFits(p, client.id)) {
              // Checked before aedes registers the client, so a refused takeover never kicks the holder
              // of that clientId off (nor fires its last will).
              log.warn(
                { user: user.slice(0, 64), client: client.id.slice(0, 64) },
                'refused an MQTT connection: the client id does not belong to this user',
              );
              const err = new Error('client identifier rejected') as AuthenticateError;
              err.returnCode = 2;
              return done(err, false);
            }
            if (p) {
              clients.set(client, { principal: p, subscriptions: new Set(), refusedSubscriptions: 0 });
              if (p.kind === 'terminal') this.byTerminal.set(p.id, client);
              const conn = (client as unknown as { conn?: unknown }).conn;
              if (conn instanceof GuardedConnection) conn.authenticated();
              return done(null, true);
            }
            log.warn(
              { user: user.slice(0, 64) },
              'refused an MQTT connection: unknown client, wrong secret or too many failures',
            );
            const err = new Error('bad user name or password') as AuthenticateError;
            err.returnCode = 4;
            done(err, false);
          },
          (err: Error) => {
            log.error({ err }, 'authentication failed');
            done(
              Object.assign(new Error('server unavailable'), { returnCode: 3 }) as AuthenticateError,
              false,
            );
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null); // broker-internal
        const p = clients.get(client)?.principal;
        if (p && mayPublish(p, packet.topic)) {
          if (
            p.kind === 'terminal' &&
            packet.topic === topics.status(p.id) &&
            !this.statusBudget.take(p.id)
          ) {
            log.warn({ terminal: p.id }, 'closed a connection that publishes status faster than allowed');
            return done(new Error('status rate exceeded'));
          }
          return done(null);
        }
        log.warn(
          { client: client.id.slice(0, 64), topic: packet.topic.slice(0, 128) },
          'refused a publish outside the ACL',
        );
        done(new Error('not authorised to publish there'));
      },
      authorizeSubscribe: (client, sub, done) => {
        const state = clients.get(client);
        if (state && maySubscribe(state.principal, sub.topic)) {
          state.subscriptions.add(sub.topic);
          if (state.principal.kind !== 'terminal' || state.subscriptions.size <= MAX_TERMINAL_SUBSCRIPTIONS)
            return done(null, sub);
        }
        log.warn(
          { client: client.id.slice(0, 64), topic: sub.topic.slice(0, 128) },
          'refused a subscription outside the ACL',
        );
        if (state && ++state.refusedSubscriptions > MAX_REFUSED_SUBSCRIPTIONS) {
          log.warn(
            { client: client.id.slice(0, 64) },
            'closed a connection after too many refused subscriptions',
          );
          return done(new Error('too many refused subscriptions'));
        }
        done(null, null);
      },
    });
    aedes.on('clientDisconnect', (client) => {
      const p = clients.get(client)?.principal;
      if (p?.kind === 'terminal' && this.byTerminal.get(p.id) === client) this.byTerminal.delete(p.id);
    });
    this.aedes = aedes;
    const perAddress = new AddressCounter(this.limits.maxConnectionsPerAddress);
    const handle = (socket: Socket | TLSSocket) => {
      const conn = new GuardedConnection(socket, this.limits, (why, c) => {
        this.count(why);
        log.warn({ why, address: c.remoteAddress }, 'closed an MQTT connection at the socket guard');
      });
      aedes.handle(conn as unknown as Socket);
    };
    const admit = (raw: Socket): boolean => {
      if (perAddress.admit(raw)) return true;
      this.count('connections_per_address');
      log.warn({ address: raw.remoteAddress }, 'refused a connection: too many from this address');
      raw.destroy();
      return false;
    };
    let server: Server;
    if (this.opts.tls) {
      server = createTlsServer(
        {
          cert: readFileSync(this.opts.tls.certFile),
          key: readFileSync(this.opts.tls.keyFile),
          handshakeTimeout: this.limits.connectDeadlineMs,
        },
        handle,
      );
      server.on('connection', (raw: Socket) => void admit(raw));
    } else server = createServer((raw) => admit(raw) && handle(raw));
    this.server = server;
    const host = this.opts.host ?? '0.0.0.0';
    try {
      this.port = await listen(server, this.opts.port, host);
    } catch (err) {
      // Port taken or not allowed: aedes' timers would keep the process alive, so close it here.
      this.server = undefined;
      this.aedes = undefined;
      await new Promise<void>((r) => aedes.close(() => r()));
      throw err;
    }
    this.log.info({ port: this.port, tls: !!this.opts.tls }, 'embedded MQTT broker listening');
    if (!this.opts.tls && !isLoopback(host))
      this.log.warn(
        { host, port: this.port, alert: 'plain_mqtt_beyond_loopback' },
        `WARNING: MQTT without TLS on ${host}: terminal secrets and events cross the network in clear. ` +
          'Give --tls-cert and --tls-key, or --mqtt-host 127.0.0.1 behind a TLS proxy (docs/security.md).',
      );
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = undefined;
    this.aedes = undefined;
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) {
      (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
}
