// Is central's broker reachable, and does it accept this terminal's credentials? One MQTT CONNECT with
// the terminal's username and secret, then a clean disconnect; nothing is published or subscribed.
// The probe uses the client id `terminal-{id}-probe`, never the daemon's own, so it cannot take over the
// running daemon's session. passgate's embedded broker checks the secret first and only then refuses a
// client id that is not the terminal's own (return code 2, "identifier rejected"): so code 2 means the
// credentials were accepted. A broker that does not bind ids (mosquitto) simply accepts the probe.
import mqtt from 'mqtt';
import { terminalClientId } from '../shared/client-id.js';

export type ProbeResult =
  | { outcome: 'accepted' }
  | { outcome: 'refused'; code: number }
  | { outcome: 'unreachable'; error: string }
  | { outcome: 'tls'; error: string };

export function probeBroker(o: {
  url: string;
  username: string;
  password: string;
  ca?: string;
  timeoutMs?: number;
}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(o.url, {
      username: o.username,
      password: o.password,
      clientId: `${terminalClientId(o.username)}-probe`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: o.timeoutMs ?? 8000,
      ...(o.ca ? { ca: o.ca } : {}),
    });
    let settled = false;
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ outcome: 'unreachable', error: 'no answer in time' }),
      (o.timeoutMs ?? 8000) + 1000,
    );
    client.on('connect', () => finish({ outcome: 'accepted' }));
    client.on('error', (err: Error & { code?: number | string }) => {
      if (typeof err.code === 'number')
        return finish(err.code === 2 ? { outcome: 'accepted' } : { outcome: 'refused', code: err.code });
      const msg = `${err.code ?? ''} ${err.message}`.trim();
      if (/CERT|certificate|self.signed|altname|TLS|SSL/i.test(msg))
        return finish({ outcome: 'tls', error: msg });
      finish({ outcome: 'unreachable', error: msg });
    });
    client.on('close', () => finish({ outcome: 'unreachable', error: 'connection closed' }));
  });
}
