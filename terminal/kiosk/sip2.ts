// SIP2 (3M Standard Interchange Protocol 2.00) as a client: the messages a kiosk sends an ILS, with
// error detection (AY sequence number, AZ checksum). Pure encoding and parsing; the TCP side is in
// sip2-forwarder.ts. Fields are `XXvalue|`; a message ends with CR.
//   93 login → 94    23 patron status → 24    11 checkout → 12    09 checkin → 10
export const SIP2_CR = '\r';

/** SIP2 checksum: the 16-bit two's complement of the byte sum of everything up to and including "AZ". */
export function sip2Checksum(text: string): string {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i)) & 0xffff;
  return (-sum & 0xffff).toString(16).toUpperCase().padStart(4, '0');
}

/** Appends AY<seq>AZ<checksum> and the CR. */
export function withErrorDetection(body: string, seq: number): string {
  const head = `${body}AY${seq % 10}AZ`;
  return head + sip2Checksum(head) + SIP2_CR;
}

/** True when the message (without CR) carries a checksum that matches. */
export function checksumOk(message: string): boolean {
  const at = message.lastIndexOf('AZ');
  if (at === -1 || message.length !== at + 6) return false;
  return sip2Checksum(message.slice(0, at + 2)) === message.slice(at + 2).toUpperCase();
}

/** SIP2 date: YYYYMMDD, four zone characters ("   Z" for UTC), HHMMSS. */
export function sip2Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}   Z${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** A field value may not hold the separator or a CR. */
function f(id: string, value: string): string {
  return `${id}${value.replace(/[|\r\n]/g, ' ')}|`;
}

export interface Sip2Site {
  institution: string;
  location: string;
  terminalPassword?: string;
}

export const sip2 = {
  login(user: string, password: string, location: string): string {
    return `9300${f('CN', user)}${f('CO', password)}${f('CP', location)}`;
  },
  patronStatus(site: Sip2Site, patron: string, at: number): string {
    return `23001${sip2Date(at)}${f('AO', site.institution)}${f('AA', patron)}${f('AC', site.terminalPassword ?? '')}${f('AD', '')}`;
  },
  /** no block = Y: the kiosk already lent the item offline; the ILS records it and may not refuse. */
  checkout(site: Sip2Site, patron: string, item: string, at: number, due: number, renewal: boolean): string {
    return `11${renewal ? 'Y' : 'N'}Y${sip2Date(at)}${sip2Date(due)}${f('AO', site.institution)}${f('AA', patron)}${f('AB', item)}${f('AC', site.terminalPassword ?? '')}`;
  },
  checkin(site: Sip2Site, item: string, at: number): string {
    return `09Y${sip2Date(at)}${sip2Date(at)}${f('AP', site.location)}${f('AO', site.institution)}${f('AB', item)}${f('AC', site.terminalPassword ?? '')}`;
  },
};

export interface Sip2Response {
  code: string;
  /** The fixed-length part after the code, before the first field. */
  fixed: string;
  fields: Map<string, string>;
}

const FIXED_LENGTH: Record<string, number> = {
  '94': 1,
  '24': 14 + 3 + 18,
  '12': 4 + 18,
  '10': 4 + 18,
  '96': 0,
};

/** Parses a response (CR already stripped); undefined when it is not one this client understands. */
export function parseSip2(message: string): Sip2Response | undefined {
  const code = message.slice(0, 2);
  const fixedLength = FIXED_LENGTH[code];
  if (fixedLength === undefined || message.length < 2 + fixedLength) return undefined;
  const fixed = message.slice(2, 2 + fixedLength);
  const fields = new Map<string, string>();
  const rest = message.slice(2 + fixedLength);
  const ay = rest.lastIndexOf('AY');
  for (const part of (ay >= 0 ? rest.slice(0, ay) : rest).split('|'))
    if (part.length >= 2) fields.set(part.slice(0, 2), part.slice(2));
  return { code, fixed, fields };
}
