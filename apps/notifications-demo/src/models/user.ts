import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A person with an account: Django's `auth.User`, cut down to what the demo needs. */
export const User = defineEntity({
  name: 'User',
  tableName: 'accounts_user',
  properties: {
    id: p.integer().primary().autoincrement(),
    email: p.string().length(254).unique(),
    name: p.string().length(150),
    /** `scrypt$N$r$p$salt$hash`; see `auth/passwords.ts`. */
    passwordHash: p.string().length(255),
    dateJoined: p.datetime().onCreate(() => new Date()),
    lastLogin: p.datetime().nullable(),
    /** May use the admin pages (the task dashboard at `/admin/tasks`, `/metrics`): Django's `is_staff`. */
    isStaff: p.boolean().default(false),
  },
});
export type User = InferEntity<typeof User>;
