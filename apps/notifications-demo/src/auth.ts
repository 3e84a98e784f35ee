/**
 * Accounts: password hashing (scrypt from node:crypto, Django's `make_password` /
 * `check_password` / `must_update` shape) and database-backed sessions (Django's `db`
 * session engine, with `cycle_key` on login).
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/sql';
import pLimit from 'p-limit';
import { Session, User } from './models/index.ts';

/**
 * scrypt cost: N=2^14, r=8, p=5, one of OWASP's equivalent minimums (the same CPU work as
 * N=2^17, p=1 with 16 MiB instead of 128 MiB per hash) and Django's `ScryptPasswordHasher`.
 * Hashes made with other parameters are upgraded at the next successful login.
 */
export const SCRYPT = { N: 2 ** 14, r: 8, p: 5, keyLength: 32 } as const;
const SCRYPT_MAXMEM = 256 * 1024 * 1024;

/**
 * At most two hashes at once: scrypt runs on libuv's four threads, which file reads (PDF
 * downloads) need too. A burst of logins then waits its turn instead of starving them.
 */
const hashing = pLimit(2);

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function scryptAsync(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  keyLength: number,
): Promise<Buffer> {
  return hashing(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password, salt, keyLength, { ...params, maxmem: SCRYPT_MAXMEM }, (error, key) => {
          if (error) reject(error);
          else resolve(key);
        });
      }),
  );
}

/** Hash a password as `scrypt$N$r$p$salt$hash` (base64url), with a random 16-byte salt. */
export async function makePassword(
  password: string,
  params: ScryptParams = SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params, SCRYPT.keyLength);
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

function decode(encoded: string) {
  const [algorithm, n, r, p, salt, hash] = encoded.split('$');
  if (algorithm !== 'scrypt' || !n || !r || !p || !salt || !hash) return null;
  return { N: Number(n), r: Number(r), p: Number(p), salt, hash };
}

/** Whether `password` matches `encoded`, compared in constant time. */
export async function checkPassword(password: string, encoded: string): Promise<boolean> {
  const parts = decode(encoded);
  if (!parts) return false;
  const expected = Buffer.from(parts.hash, 'base64url');
  const key = await scryptAsync(
    password,
    Buffer.from(parts.salt, 'base64url'),
    parts,
    expected.length,
  );
  return timingSafeEqual(key, expected);
}

/** Whether `encoded` was made with other parameters than today's (Django's `must_update`). */
export function mustUpdate(encoded: string): boolean {
  const parts = decode(encoded);
  return !parts || parts.N !== SCRYPT.N || parts.r !== SCRYPT.r || parts.p !== SCRYPT.p;
}

/** A hash to compare against when the user does not exist, so both paths cost the same. */
let dummyHash: Promise<string> | null = null;

/** Spend the time a password check takes, for answers that must not reveal an account. */
export async function hashNothing(password: string): Promise<void> {
  dummyHash ??= makePassword('not a real password');
  await checkPassword(password, await dummyHash);
}

/**
 * Find the user with `email` and check the password; `null` when either is wrong. A hash
 * made with older parameters is replaced by one with today's.
 */
export async function authenticate(
  em: EntityManager,
  email: string,
  password: string,
): Promise<User | null> {
  const user = await em.findOne(User, { email: normalizeEmail(email) });
  if (!user) {
    await hashNothing(password);
    return null;
  }
  if (!(await checkPassword(password, user.passwordHash))) return null;
  if (mustUpdate(user.passwordHash)) {
    user.passwordHash = await makePassword(password);
    await em.flush();
  }
  return user;
}

/** Lower-case the domain part, as Django's `normalize_email` does, and trim. */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf('@');
  return at < 0 ? trimmed : `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Start a session for `user` and return the key for the session cookie. The session the
 * browser had before (`previousKey`) ends: a key fixed before login is worthless after it.
 */
export async function login(
  em: EntityManager,
  user: User,
  ageSeconds: number,
  previousKey: string | null,
): Promise<string> {
  if (previousKey) await em.nativeDelete(Session, { keyHash: hashKey(previousKey) });
  const key = randomBytes(32).toString('base64url');
  em.create(Session, {
    keyHash: hashKey(key),
    user,
    expiresAt: new Date(Date.now() + ageSeconds * 1000),
  });
  user.lastLogin = new Date();
  await em.flush();
  return key;
}

/** The user whose unexpired session has `key`, or `null`. */
export async function userForSession(em: EntityManager, key: string): Promise<User | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(key)) return null;
  const session = await em.findOne(
    Session,
    { keyHash: hashKey(key), expiresAt: { $gt: new Date() } },
    { populate: ['user'] },
  );
  return session ? session.user : null;
}

/** End the session with `key` (log out). */
export async function logout(em: EntityManager, key: string): Promise<void> {
  await em.nativeDelete(Session, { keyHash: hashKey(key) });
}
