import { TaskJsonError } from '@djtasks/tasks';
import { normalizeArgs, normalizeJson, normalizeReturnValue } from '@djtasks/tasks/backend';
import { describe, expect, it } from 'vitest';

describe('normalizeJson', () => {
  it('deep-copies JSON values', () => {
    const input = { a: [1, 'two', true, null, { b: -0.5 }], 'weird key': {} };
    const output = normalizeJson(input);
    expect(output).toEqual(input);
    expect(output).not.toBe(input);
    expect(Object.getPrototypeOf(normalizeJson(Object.create(null)))).toBe(Object.prototype);
  });

  it.each([
    [{ when: new Date(0) }, 'value.when: Date is not JSON'],
    [new Map(), 'value: Map is not JSON'],
    [new Set([1]), 'value: Set is not JSON'],
    [[1, undefined], 'value[1]: undefined is not JSON'],
    [{ n: Number.NaN }, 'value.n: NaN is not JSON'],
    [{ n: Number.POSITIVE_INFINITY }, 'value.n: Infinity is not JSON'],
    [{ big: 1n }, 'value.big: BigInt is not JSON'],
    [{ fn: () => 1 }, 'value.fn: a function is not JSON'],
    [{ 'a b': new Uint8Array(1) }, 'value["a b"]: Uint8Array is not JSON'],
    [{ nested: [{ x: new (class Point {})() }] }, 'value.nested[0].x: Point is not JSON'],
    [{ [Symbol('s')]: 1 }, 'value: an object with symbol keys is not JSON'],
    // eslint-disable-next-line no-sparse-arrays
    [[1, , 3], 'value[1]: undefined is not JSON'],
  ])('rejects %o with "%s"', (value, message) => {
    expect(() => normalizeJson(value)).toThrow(TaskJsonError);
    expect(() => normalizeJson(value)).toThrow(message);
  });

  it('rejects circular references but accepts shared ones', () => {
    const shared = { x: 1 };
    expect(normalizeJson({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => normalizeJson(loop)).toThrow('value.self: circular reference is not JSON');
  });

  it('names argument and return value paths', () => {
    expect(() => normalizeArgs(['ok', { when: new Date() }])).toThrow(
      'args[1].when: Date is not JSON',
    );
    try {
      normalizeArgs([1n]);
    } catch (error) {
      expect(error).toBeInstanceOf(TaskJsonError);
      expect((error as TaskJsonError).path).toBe('args[0]');
    }
    expect(normalizeReturnValue(undefined)).toBeNull();
    expect(() => normalizeReturnValue(new Date())).toThrow('returnValue: Date is not JSON');
  });
});
