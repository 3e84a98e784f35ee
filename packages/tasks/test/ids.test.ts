import { randomId } from '@djtasks/tasks/backend';
import { describe, expect, it } from 'vitest';

describe('randomId', () => {
  it('makes distinct 32-character alphanumeric ids that use the whole alphabet', () => {
    const made = Array.from({ length: 5_000 }, () => randomId());
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(id).toMatch(/^[a-zA-Z0-9]{32}$/);
    expect(new Set(made.join('')).size).toBe(62);
  });

  it('makes ids of other lengths', () => {
    expect(randomId(6)).toMatch(/^[a-zA-Z0-9]{6}$/);
    expect(randomId(300)).toHaveLength(300);
  });
});
