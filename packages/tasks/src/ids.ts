import { randomFillSync } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

// Random bytes are drawn from a buffer filled 8 KB at a time: one call into the random
// source per ~200 ids instead of one per id, which matters at tens of thousands of enqueues a second.
const bytes = Buffer.alloc(8192);
let offset = bytes.length;

/** A random alphanumeric string, as Django's `get_random_string` (32 characters by default). */
export function randomId(length = 32): string {
  const codes = new Array<number>(length);
  let filled = 0;
  while (filled < length) {
    if (offset === bytes.length) {
      randomFillSync(bytes);
      offset = 0;
    }
    const byte = bytes[offset++]!;
    // 248 is the largest multiple of 62 below 256: rejecting bytes above it keeps every letter equally likely.
    if (byte < 248) codes[filled++] = ALPHABET.charCodeAt(byte % 62);
  }
  // One flat string (not a chain of concatenations) is cheaper to hash as a Map key and to send to threads.
  return String.fromCharCode(...codes);
}
