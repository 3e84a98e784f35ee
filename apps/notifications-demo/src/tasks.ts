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
import { notificationEmail, welcomeEmail } from './templates/emails.ts';

const backoff = exponentialBackoff({ baseMs: settings.TASK_RETRY_BASE_MS, maxMs: 10 * 60_000 });

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

/** Email a user a short notification, with an optional link. */
export const sendNotification = task(
  { name: 'notifications.sendNotification', priority: 10, maxAttempts: 3, backoff },
  async (userId: number, message: string, link: string | null): Promise<string> => {
    const em = await forkEm(settings.DATABASE);
    const user = await em.findOneOrFail(User, { id: userId });
    await sendMail({ ...notificationEmail(user, message, link), to: [user.email] });
    return user.email;
  },
);

/**
 * Render report `reportId` as a PDF, save it as `report_<id>.pdf` and mark the report
 * completed; when the last attempt fails, mark it failed and tell its owner.
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
      report.error = error instanceof Error ? error.message : String(error);
      if (lastAttempt) report.status = 'failed';
      await em.flush();
      if (lastAttempt) {
        await sendNotification.enqueue(
          report.owner.id,
          `Sorry, your report "${report.title}" could not be generated: ${report.error}`,
          `${siteUrl}/reports`,
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
      `Your report "${report.title}" is ready.`,
      `${siteUrl}/reports/${report.id}/download`,
    );
    return report.file;
  },
);
