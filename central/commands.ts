// Commands to terminals (resync, reload, open once): signed with the list key under a fresh random id
// and published on t/{id}/cmd.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KeyPair } from '../shared/keys.js';
import { assertTerminalId } from '../shared/ids.js';
import { COMMANDS, signCommand, topics, type Command } from '../shared/sync.js';
import { asInvalidInput, InvalidInput } from '../shared/errors.js';
import { fleetReport } from './fleet.js';
import type { CentralStore } from './store/types.js';

export function isCommand(v: unknown): v is Command {
  return typeof v === 'string' && (COMMANDS as readonly string[]).includes(v);
}

export class CommandSender {
  constructor(
    private readonly store: CentralStore,
    /** Signs commands (terminals verify with the list key they pinned). */
    private readonly listKey: KeyPair,
    /** Publishes on the broker (QoS 1); undefined when central has no broker link. */
    private readonly publish:
      ((topic: string, payload: Uint8Array, retain?: boolean) => Promise<void>) | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Sends a command to one registered terminal on t/{id}/cmd (QoS 1, not retained: a terminal that is
   * offline now never gets it), signed with the list key under a fresh random id (the terminal runs each
   * id once, so a QoS 1 redelivery does nothing). Resolves once the broker has it; `online` is the
   * fleet's view at that time.
   */
  async send(terminal: string, command: string): Promise<{ online: boolean }> {
    asInvalidInput('terminal', () => assertTerminalId(terminal, 'terminal'));
    if (!isCommand(command))
      throw new InvalidInput('command', `"${command.slice(0, 32)}" must be one of ${COMMANDS.join(', ')}`);
    const rec = await this.store.terminal(terminal);
    if (!rec) throw new InvalidInput('terminal', `"${terminal}" is not registered`);
    if (rec.retiredAt !== undefined) throw new InvalidInput('terminal', `"${terminal}" is retired`);
    if (!this.publish) throw new Error('central has no broker link to send commands on');
    const id = randomBytes(8).toString('hex');
    const signed = signCommand(this.listKey, { terminal, command, id, t: Date.now() });
    await this.publish(topics.cmd(terminal), signed, false);
    const online = fleetReport([rec], Date.now()).terminals[0]?.online ?? false;
    this.log.info({ terminal, command, id, online }, 'sent a command to a terminal');
    return { online };
  }
}
