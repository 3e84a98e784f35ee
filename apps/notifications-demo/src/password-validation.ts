/**
 * Password validation, Django's `AUTH_PASSWORD_VALIDATORS` defaults: a minimum length, not
 * too similar to the user's email or name, not a common password, not entirely numeric.
 * The common-password list is zxcvbn-ts's (49,233 passwords from breach corpora, MIT).
 */
import { dictionary } from '@zxcvbn-ts/language-common';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;
/** Django's `UserAttributeSimilarityValidator.DEFAULT_MAX_SIMILARITY`. */
const MAX_SIMILARITY = 0.7;

let common: Set<string> | null = null;
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

/**
 * Python's `SequenceMatcher.quick_ratio()`, which Django's similarity check uses: twice the
 * number of characters the strings share (as multisets) over their total length.
 */
function quickRatio(a: string, b: string): number {
  if (a.length + b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const char of b) counts.set(char, (counts.get(char) ?? 0) + 1);
  let matches = 0;
  for (const char of a) {
    const left = counts.get(char) ?? 0;
    if (left > 0) {
      matches += 1;
      counts.set(char, left - 1);
    }
  }
  return (2 * matches) / (a.length + b.length);
}

/** Whether `password` is too close to one of `attributes` (or to one of their words). */
function tooSimilar(password: string, attributes: Record<string, string>): string | null {
  const lower = password.toLowerCase();
  for (const [name, value] of Object.entries(attributes)) {
    if (!value) continue;
    const whole = value.toLowerCase();
    // Django also compares against each word, so "anna" in "anna.smith@…" counts.
    for (const part of [whole, ...whole.split(/\W+/)]) {
      // Like Django: a part much shorter than the password cannot make it similar.
      if (part.length < 3 || lower.length >= 10 * part.length) continue;
      if (quickRatio(lower, part) >= MAX_SIMILARITY) return name;
    }
  }
  return null;
}

/**
 * Every reason `password` is refused, as messages for the form (empty when it is fine).
 * `attributes` are the user's other fields, by their label (`{ email, name }`).
 */
export function validatePassword(password: string, attributes: Record<string, string>): string[] {
  const problems: string[] = [];
  if (password.length < MIN_PASSWORD_LENGTH)
    problems.push(
      `This password is too short. It must contain at least ${MIN_PASSWORD_LENGTH} characters.`,
    );
  if (password.length > MAX_PASSWORD_LENGTH)
    problems.push(`This password is too long (at most ${MAX_PASSWORD_LENGTH} characters).`);
  const similar = tooSimilar(password, attributes);
  if (similar) problems.push(`The password is too similar to the ${similar}.`);
  if (commonPasswords().has(password.trim().toLowerCase()))
    problems.push('This password is too common.');
  if (/^[0-9]+$/.test(password)) problems.push('This password is entirely numeric.');
  return problems;
}
