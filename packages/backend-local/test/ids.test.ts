import { describe, expect, it } from 'vitest';
import { ResultIds } from '../src/ids.ts';

describe('ResultIds', () => {
  it('makes distinct 32-character alphanumeric ids that use the whole alphabet', () => {
    const ids = new ResultIds();
    const made = Array.from({ length: 5_000 }, () => ids.next());
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(id).toMatch(/^[a-zA-Z0-9]{32}$/);
    const letters = new Set(made.join(''));
    expect(letters.size).toBe(62);
  });
});
