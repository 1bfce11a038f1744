import { describe, expect, it } from 'vitest';
import { COMMAND_MAX_AGE_MS, COMMAND_MAX_FUTURE_MS, CommandGate } from './command-gate.js';

describe('CommandGate', () => {
  it('runs a fresh command once; a redelivery is refused', () => {
    let now = 1_000_000_000;
    const gate = new CommandGate(() => now);
    expect(gate.admit('a', now)).toBe('run');
    now += 1000;
    expect(gate.admit('a', now - 1000)).toBe('already_run');
    expect(gate.admit('b', now)).toBe('run');
  });

  it('refuses commands outside the window, at both edges', () => {
    const now = 1_000_000_000;
    const gate = new CommandGate(() => now);
    expect(gate.admit('old', now - COMMAND_MAX_AGE_MS - 1)).toBe('outside_window');
    expect(gate.admit('edge-old', now - COMMAND_MAX_AGE_MS)).toBe('run');
    expect(gate.admit('future', now + COMMAND_MAX_FUTURE_MS + 1)).toBe('outside_window');
    expect(gate.admit('edge-future', now + COMMAND_MAX_FUTURE_MS)).toBe('run');
  });

  it('forgets ids only once they would be refused as too old anyway (memory stays bounded)', () => {
    let now = 1_000_000_000;
    const gate = new CommandGate(() => now);
    for (let i = 0; i < 100; i++) expect(gate.admit(`c${i}`, now)).toBe('run');
    expect(gate.remembered).toBe(100);
    now += COMMAND_MAX_AGE_MS + COMMAND_MAX_FUTURE_MS + 1;
    expect(gate.admit('c0', now - 5)).toBe('run'); // the old entry expired; a new t makes it a new command
    expect(gate.remembered).toBe(1);
    // A redelivery of c1 with its original t stays refused: outside the window.
    expect(gate.admit('c1', 1_000_000_000)).toBe('outside_window');
  });
});
