import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { User } from './user.ts';

/** A report goes pending → completed, or pending → failed when every attempt failed. */
export const REPORT_STATUSES = ['pending', 'completed', 'failed'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** One row of a report's data: a label and a number. */
export interface ReportRow {
  label: string;
  value: number;
}

/** A PDF report a user asked for; `generateReport` renders it in the background. */
export const Report = defineEntity({
  name: 'Report',
  tableName: 'reports_report',
  properties: {
    id: p.integer().primary().autoincrement(),
    owner: () => p.manyToOne(User).deleteRule('cascade'),
    title: p.string().length(120),
    data: p.json<ReportRow[]>(),
    status: p.enum(REPORT_STATUSES).default('pending').index(),
    /** The generated file's name in storage, once completed. */
    file: p.string().length(255).nullable(),
    /** Attempts of `generateReport` so far. */
    attempts: p.integer().default(0),
    /** The last attempt's error, shown while retrying and once failed. */
    error: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    completedAt: p.datetime().nullable(),
  },
});
export type Report = InferEntity<typeof Report>;
