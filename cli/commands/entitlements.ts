// `--ent` values: KIND[:ID][:class=C][:loans=N], e.g. venue:zoo, library:main:loans=8, concession:bus:class=senior.
import type { Entitlement } from '../../shared/credential.js';
import { UsageError } from '../command.js';

const WORD = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** `option` names the flag the text came from (`--ent`, `--require`), so the message points at it. */
export function parseEntitlement(text: string, option = '--ent'): Entitlement {
  const [kind, ...rest] = text.split(':');
  if (!kind || !WORD.test(kind))
    throw new UsageError(`${option} "${text}": start with a kind such as venue, library or concession`);
  const e: Entitlement = { k: kind };
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (e.v !== undefined || !WORD.test(part))
        throw new UsageError(`${option} "${text}": "${part}" is not a valid place id`);
      e.v = part;
      continue;
    }
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 'class' && WORD.test(value)) e.c = value;
    else if (key === 'loans' && /^\d{1,3}$/.test(value)) e.n = Number(value);
    else throw new UsageError(`${option} "${text}": use class=WORD or loans=NUMBER, not "${part}"`);
  }
  return e;
}

export function formatEntitlement(e: Entitlement): string {
  return [
    e.k,
    e.v,
    e.c !== undefined ? `class=${e.c}` : undefined,
    e.n !== undefined ? `loans=${e.n}` : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(':');
}
