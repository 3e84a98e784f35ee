export { Report, REPORT_STATUSES, type ReportRow, type ReportStatus } from './report.ts';
export { Session } from './session.ts';
export { User } from './user.ts';

import { Report } from './report.ts';
import { Session } from './session.ts';
import { User } from './user.ts';

/** Every entity of the app, for the ORM configuration. */
export const entities = [User, Session, Report];
