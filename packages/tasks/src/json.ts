import { TaskJsonError } from './exceptions.ts';

/** A value that survives `JSON.stringify` followed by `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonArray | JsonObject;
/** An array of JSON values. */
export type JsonArray = readonly JsonValue[];
/** A plain object of JSON values. Interfaces need an index signature to be assignable. */
export type JsonObject = { readonly [key: string]: JsonValue };

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return 'BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'an object';
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function normalize(value: unknown, path: string, ancestors: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TaskJsonError(path, `${describe(value)} is not JSON`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) throw new TaskJsonError(path, 'circular reference is not JSON');
      ancestors.add(value);
      try {
        if (Array.isArray(value)) {
          const out: JsonValue[] = [];
          for (let i = 0; i < value.length; i++) {
            // A hole in a sparse array reads as undefined and is rejected like one.
            out.push(normalize(value[i], `${path}[${i}]`, ancestors));
          }
          return out;
        }
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          throw new TaskJsonError(path, `${describe(value)} is not JSON`);
        }
        if (Object.getOwnPropertySymbols(value).length > 0) {
          throw new TaskJsonError(path, 'an object with symbol keys is not JSON');
        }
        const out: Record<string, JsonValue> = {};
        for (const [key, item] of Object.entries(value)) {
          out[key] = normalize(item, keyPath(path, key), ancestors);
        }
        return out;
      } finally {
        ancestors.delete(value);
      }
    }
    default:
      throw new TaskJsonError(path, `${describe(value)} is not JSON`);
  }
}

/**
 * Return a deep copy of `value` made only of JSON values, or throw a `TaskJsonError`
 * naming the first value (by its path, starting at `path`) that JSON would lose or change:
 * `undefined`, `NaN`, `Infinity`, `BigInt`, functions, symbols, `Date`, `Map`, `Set`,
 * typed arrays, class instances and circular references.
 */
export function normalizeJson(value: unknown, path = 'value'): JsonValue {
  return normalize(value, path, new Set());
}

/** Normalise a task's positional arguments; paths read `args[0].field`. */
export function normalizeArgs(args: readonly unknown[]): JsonValue[] {
  return args.map((arg, index) => normalize(arg, `args[${index}]`, new Set()));
}

/**
 * Normalise a task's return value; `undefined` (a function that returns nothing)
 * is stored as `null`.
 */
export function normalizeReturnValue(value: unknown): JsonValue {
  return value === undefined ? null : normalize(value, 'returnValue', new Set());
}
