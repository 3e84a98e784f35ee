/**
 * Accounts: password hashing (scrypt from node:crypto, Django's `make_password` /
 * `check_password` shape) and database-backed sessions (Django's `db` session engine).
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/sql';
import { Session, User } from './models/index.ts';

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 } as const;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

function scryptAsync(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
  keyLength: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { ...params, maxmem: SCRYPT_MAXMEM }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Hash a password as `scrypt$N$r$p$salt$hash` (base64url), with a random 16-byte salt. */
export async function makePassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT, SCRYPT.keyLength);
  return [
    'scrypt',
    SCRYPT.N,
    SCRYPT.r,
    SCRYPT.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/** Whether `password` matches `encoded`, compared in constant time. */
export async function checkPassword(password: string, encoded: string): Promise<boolean> {
  const [algorithm, n, r, p, salt, hash] = encoded.split('$');
  if (algorithm !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(
    password,
    Buffer.from(salt, 'base64url'),
    { N: Number(n), r: Number(r), p: Number(p) },
    expected.length,
  );
  return timingSafeEqual(key, expected);
}

/** A hash to compare against when the user does not exist, so both paths cost the same. */
let dummyHash: Promise<string> | null = null;

/** Find the user with `email` and check the password; `null` when either is wrong. */
export async function authenticate(
  em: EntityManager,
  email: string,
  password: string,
): Promise<User | null> {
  const user = await em.findOne(User, { email: normalizeEmail(email) });
  if (!user) {
    dummyHash ??= makePassword('not a real password');
    await checkPassword(password, await dummyHash);
    return null;
  }
  return (await checkPassword(password, user.passwordHash)) ? user : null;
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

/** Start a session for `user`; return the key to put in the session cookie. */
export async function login(em: EntityManager, user: User, ageSeconds: number): Promise<string> {
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
