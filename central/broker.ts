// The embedded broker: aedes on TCP (or TLS), with per-terminal authentication and the ACL of acl.ts.
// A terminal must use the clientId of its own username (shared/client-id.ts). Refusals are logged
// without the secret.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { CENTRAL_CLIENT_PREFIX, terminalClientId } from '../shared/client-id.js';
import { mayPublish, maySubscribe, type Principal } from './acl.js';
import { listen } from '../shared/net.js';

export interface BrokerAuth {
  /** Resolves to who this is, or undefined for an unknown user or a wrong secret. */
  authenticate(username: string, secret: string): Promise<Principal | undefined>;
}

export interface EmbeddedBrokerOptions {
  port: number;
  host?: string;
  tls?: { certFile: string; keyFile: string };
  auth: BrokerAuth;
  logger: Logger;
}

const principals = new WeakMap<Client, Principal>();

/** A terminal connects only as terminal-{its username}; central's own clients as central-…. */
export function clientIdFits(p: Principal, clientId: string): boolean {
  if (p.kind === 'terminal') return clientId === terminalClientId(p.id);
  return clientId.startsWith(CENTRAL_CLIENT_PREFIX) && clientId.length > CENTRAL_CLIENT_PREFIX.length;
}

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly log: Logger;
  port = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.log = opts.logger.child({ component: 'broker' });
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const { auth } = this.opts;
    const log = this.log;
    const aedes = await Aedes.createBroker({
      queueLimit: 100_000,
      authenticate: (client, username, password, done) => {
        const user = username ?? '';
        auth.authenticate(user, password?.toString('utf8') ?? '').then(
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
              principals.set(client, p);
              return done(null, true);
            }
            log.warn(
              { user: user.slice(0, 64) },
              'refused an MQTT connection: unknown client or wrong secret',
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
        const p = principals.get(client);
        if (p && mayPublish(p, packet.topic)) return done(null);
        log.warn(
          { client: client.id.slice(0, 64), topic: packet.topic.slice(0, 128) },
          'refused a publish outside the ACL',
        );
        done(new Error('not authorised to publish there'));
      },
      authorizeSubscribe: (client, sub, done) => {
        const p = principals.get(client);
        if (p && maySubscribe(p, sub.topic)) return done(null, sub);
        log.warn(
          { client: client.id.slice(0, 64), topic: sub.topic.slice(0, 128) },
          'refused a subscription outside the ACL',
        );
        done(null, null);
      },
    });
    this.aedes = aedes;
    const server = this.opts.tls
      ? createTlsServer(
          { cert: readFileSync(this.opts.tls.certFile), key: readFileSync(this.opts.tls.keyFile) },
          aedes.handle,
        )
      : createServer(aedes.handle);
    this.server = server;
    try {
      this.port = await listen(server, this.opts.port, this.opts.host ?? '0.0.0.0');
    } catch (err) {
      // Port taken or not allowed: aedes' timers would keep the process alive, so close it here.
      this.server = undefined;
      this.aedes = undefined;
      await new Promise<void>((r) => aedes.close(() => r()));
      throw err;
    }
    this.log.info({ port: this.port, tls: !!this.opts.tls }, 'embedded MQTT broker listening');
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
