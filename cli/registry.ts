// Every `passgate` subcommand, by area. Add a module's commands here.
import type { CommandSpec } from './command.js';
import { issuerCommands } from './commands/issuer.js';
import { walletCommands } from './commands/wallet.js';
import { verifyCommands } from './commands/verify.js';
import { demoCommands } from './commands/demo.js';
import { terminalCommands } from './commands/terminal.js';
import { centralCommands } from './commands/central.js';
import { provisionCommands } from './commands/provision.js';

export const COMMANDS: CommandSpec[] = [
  ...issuerCommands,
  ...walletCommands,
  ...verifyCommands,
  ...demoCommands,
  ...terminalCommands,
  ...centralCommands,
  ...provisionCommands,
];
