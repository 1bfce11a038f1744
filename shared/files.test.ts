import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileProblem, readJsonObject } from './files.js';

const dir = mkdtempSync(join(tmpdir(), 'passgate-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readJsonObject (the one reader for side files)', () => {
  it('reads an object', () => {
    writeFileSync(join(dir, 'ok.json'), '{"pid": 7}');
    expect(readJsonObject(join(dir, 'ok.json'), 'runtime record')).toEqual({ pid: 7 });
  });

  it('a missing, truncated or non-object file is a FileProblem naming the file and what it is', () => {
    writeFileSync(join(dir, 'cut.json'), '{"pid": ');
    writeFileSync(join(dir, 'list.json'), '[1, 2]');
    for (const [name, words] of [
      ['none.json', /runtime record not found at .*none\.json/],
      ['cut.json', /runtime record at .*cut\.json is not valid JSON/],
      ['list.json', /runtime record at .*list\.json is not a JSON object/],
    ] as const) {
      const read = () => readJsonObject(join(dir, name), 'runtime record');
      expect(read).toThrow(FileProblem);
      expect(read).toThrow(words);
    }
  });
});
