/**
 * Reports: the first article's `create_report` view, the status a page polls, and the PDF
 * download. A report is only ever visible to its owner: other ids are 404, never 403.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cleanReportRequest, describeErrors, parseId, typedValues } from '../forms.ts';
import { render, sendError, siteUrl, wantsHtml } from '../http.ts';
import { Report, type ReportRow, type User } from '../models/index.ts';
import { settings } from '../settings.ts';
import { defaultStorage } from '../storage.ts';
import { generateReport, REPORT_FAILED_MESSAGE } from '../tasks.ts';

/** The unique key of a report's PDF task: one queued or running render per report. */
export function reportTaskKey(reportId: number): string {
  return `report-${reportId}`;
}

/** What the new-report form offers to start with. */
export const SAMPLE_ROWS: readonly ReportRow[] = [
  { label: 'Monday', value: 12 },
  { label: 'Tuesday', value: 19 },
  { label: 'Wednesday', value: 7 },
  { label: 'Thursday', value: 23 },
  { label: 'Friday', value: 15 },
];
const SAMPLE = {
  title: 'Weekly signups',
  data: SAMPLE_ROWS.map((row) => `${row.label}, ${row.value}`).join('\n'),
};

/** The JSON shape of a report's status. A failure shows a plain sentence, never the error. */
export function reportStatus(report: Report) {
  return {
    report_id: report.id,
    title: report.title,
    status: report.status,
    attempts: report.attempts,
    error: report.status === 'failed' ? REPORT_FAILED_MESSAGE : null,
    created_at: report.createdAt.toISOString(),
    completed_at: report.completedAt?.toISOString() ?? null,
    download_url: report.status === 'completed' ? `/reports/${report.id}/download` : null,
  };
}

function requireUser(request: FastifyRequest, reply: FastifyReply): User | null {
  if (request.user) return request.user;
  if (wantsHtml(request) && request.method === 'GET') void reply.redirect('/', 303);
  else void sendError(reply, 401, 'Authentication required: log in first.');
  return null;
}

/** The report with the id in the URL, if it is the user's; otherwise the reply is sent. */
async function ownReport(
  request: FastifyRequest<{ Params: { id: string } }>,
  reply: FastifyReply,
  user: User,
): Promise<Report | null> {
  const id = parseId(request.params.id);
  if (id === null) {
    void sendError(
      reply,
      400,
      `Report id must be a positive whole number (got '${request.params.id.slice(0, 40)}').`,
    );
    return null;
  }
  const report = await request.em.findOne(Report, { id, owner: user.id });
  if (!report) void sendError(reply, 404, 'Report not found.');
  return report;
}

async function reportsPage(
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  form: { values: Record<string, string>; errors: Record<string, string> },
  status = 200,
): Promise<FastifyReply> {
  const reports = await request.em.find(
    Report,
    { owner: user.id },
    { orderBy: { id: 'desc' }, limit: 50 },
  );
  return render(
    reply,
    'reports.njk',
    { title: 'Reports', reports: reports.map(reportStatus), ...form },
    status,
  );
}

export function reportViews(app: FastifyInstance): void {
  app.get('/reports', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    if (!wantsHtml(request)) {
      const reports = await request.em.find(
        Report,
        { owner: user.id },
        { orderBy: { id: 'desc' }, limit: 50 },
      );
      return { reports: reports.map(reportStatus) };
    }
    return reportsPage(request, reply, user, { values: SAMPLE, errors: {} });
  });

  app.post('/reports', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const html = wantsHtml(request);
    const form = cleanReportRequest(request.body);
    if (!form.ok) {
      return html
        ? reportsPage(
            request,
            reply,
            user,
            { values: typedValues(request.body, ['title', 'data']), errors: form.errors },
            400,
          )
        : sendError(reply, 400, describeErrors(form.errors), { errors: form.errors });
    }
    // One user cannot fill the queue: a few reports at a time, each finishing before more.
    const unfinished = await request.em.count(Report, { owner: user.id, status: 'pending' });
    if (unfinished >= settings.MAX_UNFINISHED_REPORTS) {
      const message = `You already have ${unfinished} reports being generated (the limit is ${settings.MAX_UNFINISHED_REPORTS}). Wait until one is ready, then ask again.`;
      return html
        ? reportsPage(
            request,
            reply,
            user,
            { values: typedValues(request.body, ['title', 'data']), errors: { form: message } },
            429,
          )
        : sendError(reply, 429, message);
    }
    const report = request.em.create(Report, {
      owner: user,
      title: form.data.title,
      data: form.data.data,
      status: 'pending',
    });
    await request.em.flush();
    await generateReport
      .using({ uniqueKey: reportTaskKey(report.id) })
      .enqueue(report.id, siteUrl(request));
    if (html) return reply.redirect(`/reports/${report.id}`, 303);
    return reply.code(202).send({ status: 'processing', report_id: report.id });
  });

  // Render a report's PDF again. The task's unique key is the report's, so a double-click (or
  // two tabs) while it is queued or rendering gets the same task: one PDF, not two.
  app.post<{ Params: { id: string } }>('/reports/:id/regenerate', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const report = await ownReport(request, reply, user);
    if (!report) return reply;
    if (report.status !== 'pending') {
      const unfinished = await request.em.count(Report, { owner: user.id, status: 'pending' });
      if (unfinished >= settings.MAX_UNFINISHED_REPORTS) {
        return sendError(
          reply,
          429,
          `You already have ${unfinished} reports being generated (the limit is ${settings.MAX_UNFINISHED_REPORTS}). Wait until one is ready, then ask again.`,
        );
      }
      report.status = 'pending';
      report.error = null;
      report.completedAt = null;
      await request.em.flush();
    }
    const result = await generateReport
      .using({ uniqueKey: reportTaskKey(report.id) })
      .enqueue(report.id, siteUrl(request));
    if (wantsHtml(request)) return reply.redirect(`/reports/${report.id}`, 303);
    return reply.code(202).send({ status: 'processing', report_id: report.id, task_id: result.id });
  });

  app.get<{ Params: { id: string } }>('/reports/:id', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const report = await ownReport(request, reply, user);
    if (!report) return reply;
    if (wantsHtml(request)) {
      return render(reply, 'report.njk', {
        title: report.title,
        report: reportStatus(report),
        rows: report.data,
      });
    }
    return reportStatus(report);
  });

  app.get<{ Params: { id: string } }>('/reports/:id/download', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const report = await ownReport(request, reply, user);
    if (!report) return reply;
    if (
      report.status !== 'completed' ||
      !report.file ||
      !(await defaultStorage.exists(report.file))
    ) {
      return sendError(reply, 404, `Report ${report.id} has no PDF (status: ${report.status}).`);
    }
    return reply
      .type('application/pdf')
      .header('content-disposition', `attachment; filename="report_${report.id}.pdf"`)
      .header('cache-control', 'private, no-store')
      .send(defaultStorage.open(report.file));
  });
}
