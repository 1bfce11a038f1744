import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.js';

describe('Lifecycle', () => {
  it('stops in reverse order, once, and carries on past a failing stop', async () => {
    const order: string[] = [];
    const errors: string[] = [];
    const life = new Lifecycle({ error: (o) => errors.push((o as { part: string }).part) });
    life.started('a', () => void order.push('a'));
    life.started('b', () => {
      throw new Error('b broke');
    });
    life.started('c', async () => void order.push('c'));
    await life.stopAll();
    await life.stopAll();
    expect(order).toEqual(['c', 'a']);
    expect(errors).toEqual(['b']);
  });

  it('a failing start step stops what started and rethrows', async () => {
    const order: string[] = [];
    const life = new Lifecycle({ error: () => undefined });
    await expect(
      life.run(async () => {
        life.started('store', () => void order.push('store'));
        throw new Error('port taken');
      }),
    ).rejects.toThrow('port taken');
    expect(order).toEqual(['store']);
  });
});
