/**
 * The background tasks of the articles: `send_welcome_email`, `send_notification` and
 * `generate_report`. Arguments are ids and strings (JSON), never entities: each task loads
 * what it needs in its own unit of work, wherever the backend runs it (this process, a
 * worker thread or a worker process).
 */
import { exponentialBackoff, task, type TaskContext } from '@djtasks/tasks';
import { forkEm } from './db.ts';
import { sendMail } from './email/index.ts';
import { Report, User } from './models/index.ts';
import { renderReportPdf } from './pdf.ts';
import { settings } from './settings.ts';
import { defaultStorage, reportFileName } from './storage.ts';
import { accountExistsEmail, notificationEmail, welcomeEmail } from './emails.ts';
import { logTaskEvents } from './task-events.ts';

// Every process and thread that runs tasks imports this module.
logTaskEvents();

const backoff = exponentialBackoff({ baseMs: settings.TASK_RETRY_BASE_MS, maxMs: 10 * 60_000 });

/** What users are told when their report failed; the error itself stays in the report row. */
export const REPORT_FAILED_MESSAGE =
  'We could not generate this report. Please try again later; if it keeps failing, contact us.';

/** Email a new user a welcome message. */
export const sendWelcomeEmail = task(
  { name: 'notifications.sendWelcomeEmail', priority: 10, maxAttempts: 3, backoff },
  async (userId: number, siteUrl: string): Promise<string> => {
    const em = await forkEm(settings.DATABASE);
    const user = await em.findOneOrFail(User, { id: userId });
    await sendMail({ ...welcomeEmail(user, siteUrl), to: [user.email] });
    return user.email;
  },
);

/** Tell an account's owner that someone tried to sign up again with their address. */
export const sendAccountExistsEmail = task(
  { name: 'notifications.sendAccountExistsEmail', priority: 10, maxAttempts: 3, backoff },
  async (userId: number, siteUrl: string): Promise<string> => {
    const em = await forkEm(settings.DATABASE);
    const user = await em.findOneOrFail(User, { id: userId });
    await sendMail({ ...accountExistsEmail(user, siteUrl), to: [user.email] });
    return user.email;
  },
);

/** Email a user a short notification with a subject, and an optional link. */
export const sendNotification = task(
  { name: 'notifications.sendNotification', priority: 10, maxAttempts: 3, backoff },
  async (
    userId: number,
    subject: string,
    message: string,
    link: string | null,
  ): Promise<string> => {
    const em = await forkEm(settings.DATABASE);
    const user = await em.findOneOrFail(User, { id: userId });
    await sendMail({ ...notificationEmail(user, subject, message, link), to: [user.email] });
    return user.email;
  },
);

/**
 * Send a notification now, inside the running task, so that it goes out before anything
 * the task enqueues later; when the mail server fails, fall back to a retried task.
 */
async function notifyInOrder(...args: Parameters<typeof sendNotification.call>): Promise<void> {
  try {
    await sendNotification.call(...args);
  } catch {
    await sendNotification.enqueue(...args);
  }
}

/**
 * Render report `reportId` as a PDF, save it as `report_<id>.pdf` and mark the report
 * completed; when the last attempt fails, mark it failed and tell its owner. The owner is
 * told "being generated" before "ready" whatever the backend runs in parallel: the first
 * is sent by this task before the second is enqueued.
 */
export const generateReport = task(
  {
    name: 'notifications.generateReport',
    takesContext: true,
    maxAttempts: settings.REPORT_MAX_ATTEMPTS,
    backoff,
  },
  async (context: TaskContext, reportId: number, siteUrl: string): Promise<string> => {
    const em = await forkEm(settings.DATABASE);
    const report = await em.findOneOrFail(Report, { id: reportId }, { populate: ['owner'] });
    if (report.status !== 'pending') return report.status;
    if (context.attempt === 1) {
      await notifyInOrder(
        report.owner.id,
        `Your report "${report.title}" is being generated`,
        `We are generating your report "${report.title}". We will email you again when it is ready.`,
        `${siteUrl}/reports/${report.id}`,
      );
    }
    report.attempts = context.attempt;
    try {
      const pdf = await renderReportPdf({
        id: report.id,
        title: report.title,
        ownerName: report.owner.name,
        ownerEmail: report.owner.email,
        createdAt: report.createdAt,
        rows: report.data,
      });
      report.file = await defaultStorage.save(reportFileName(report.id), pdf);
    } catch (error) {
      const lastAttempt = context.attempt >= context.taskResult.task.maxAttempts;
      // The details stay here and in the task result; the owner gets a plain sentence.
      report.error = error instanceof Error ? error.message : String(error);
      if (lastAttempt) report.status = 'failed';
      await em.flush();
      if (lastAttempt) {
        await sendNotification.enqueue(
          report.owner.id,
          `Your report "${report.title}" could not be generated`,
          REPORT_FAILED_MESSAGE,
          `${siteUrl}/reports/${report.id}`,
        );
      }
      throw error;
    }
    report.status = 'completed';
    report.error = null;
    report.completedAt = new Date();
    await em.flush();
    await sendNotification.enqueue(
      report.owner.id,
      `Your report "${report.title}" is ready`,
      `Your report "${report.title}" is ready to download.`,
      `${siteUrl}/reports/${report.id}/download`,
    );
    return report.file;
  },
);

/**
 * Email each user who asked for reports in the last 24 hours a digest of them: run daily by
 * the `dailyDigest` schedule (see taskconfig.ts). Each email is its own retried task.
 */
export const sendDailyDigest = task(
  { name: 'notifications.sendDailyDigest' },
  async (siteUrl: string | null): Promise<number> => {
    const em = await forkEm(settings.DATABASE);
    const since = new Date(Date.now() - 24 * 3_600_000);
    const reports = await em.find(
      Report,
      { createdAt: { $gte: since } },
      { populate: ['owner'], orderBy: { id: 'asc' } },
    );
    const byOwner = new Map<number, Report[]>();
    for (const report of reports) {
      byOwner.set(report.owner.id, [...(byOwner.get(report.owner.id) ?? []), report]);
    }
    for (const [ownerId, own] of byOwner) {
      const lines = own.map((report) => `- "${report.title}": ${report.status}`).join('\n');
      await sendNotification.enqueue(
        ownerId,
        `Your reports of the day (${own.length})`,
        `The reports you asked for in the last 24 hours:\n${lines}`,
        siteUrl === null ? null : `${siteUrl}/reports`,
      );
    }
    return byOwner.size;
  },
);
