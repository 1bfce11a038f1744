// `passgate demo`: the whole system on embedded defaults, narrated.
import type { CommandSpec } from '../command.js';
import { runDemo } from '../../demo/demo.js';

export const demoCommands: CommandSpec[] = [
  {
    name: 'demo',
    summary: 'run the whole system end to end on embedded defaults, narrated (no setup, no hardware)',
    options: {},
    async run(_cmd, io) {
      return runDemo(io);
    },
  },
];
