import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { User } from './user.ts';

/** A logged-in browser: the cookie holds a random key, the table only its SHA-256. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'accounts_session',
  properties: {
    id: p.integer().primary().autoincrement(),
    keyHash: p.string().length(64).unique(),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().index(),
  },
});
export type Session = InferEntity<typeof Session>;
