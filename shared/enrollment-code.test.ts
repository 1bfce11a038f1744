import { describe, expect, it } from 'vitest';
import { ENROLLMENT_CODE_ALPHABET, newEnrollmentCode, normalizeEnrollmentCode } from './enrollment-code.js';

describe('enrollment codes', () => {
  it('never start with "-" and use only the alphabet (10,000 codes)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const code = newEnrollmentCode();
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      seen.add(code);
    }
    expect(seen.size).toBe(10_000);
    expect(ENROLLMENT_CODE_ALPHABET).not.toContain('-');
  });

  it('normalizes what a technician types; an old-format code is only trimmed', () => {
    const code = newEnrollmentCode();
    const canonical = code.replace(/-/g, '');
    expect(normalizeEnrollmentCode(code)).toBe(canonical);
    expect(normalizeEnrollmentCode(` ${code.toLowerCase().replace(/-/g, ' ')} `)).toBe(canonical);
    expect(normalizeEnrollmentCode('7K3M-QX2B-9TFD-WA4H'.replace('0', 'O'))).toBe('7K3MQX2B9TFDWA4H');
    expect(normalizeEnrollmentCode('o1lI-QX2B-9TFD-WA4H')).toBe('0111QX2B9TFDWA4H');
    expect(normalizeEnrollmentCode(' -BZEXq_9aLmN0p ')).toBe('-BZEXq_9aLmN0p');
  });
});
