/**
 * Reports: the first article's `create_report` view, the status a page polls, and the PDF
 * download. A report is only ever visible to its owner: other ids are 404, never 403.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cleanReportRequest, describeErrors, parseId } from '../forms.ts';
import { sendError, sendPage, siteUrl, wantsHtml } from '../http.ts';
import { Report, type User } from '../models/index.ts';
import { defaultStorage } from '../storage.ts';
import { generateReport, sendNotification } from '../tasks.ts';
import { reportsPage } from '../templates/pages.ts';

/** The JSON shape of a report's status. */
export function reportStatus(report: Report) {
  return {
    report_id: report.id,
    title: report.title,
    status: report.status,
    attempts: report.attempts,
    error: report.error,
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

export function reportViews(app: FastifyInstance): void {
  app.get('/reports', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const reports = await request.em.find(
      Report,
      { owner: user.id },
      { orderBy: { id: 'desc' }, limit: 50 },
    );
    if (!wantsHtml(request)) return { reports: reports.map(reportStatus) };
    return sendPage(
      reply,
      reportsPage(
        {
          title: 'Reports',
          csrfToken: request.csrfToken,
          user: { name: user.name, email: user.email },
        },
        reports,
      ),
    );
  });

  app.post('/reports', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const form = cleanReportRequest(request.body);
    if (!form.ok)
      return sendError(reply, 400, describeErrors(form.errors), { errors: form.errors });
    const report = request.em.create(Report, {
      owner: user,
      title: form.data.title,
      data: form.data.data,
      status: 'pending',
    });
    await request.em.flush();
    const site = siteUrl(request);
    await sendNotification.enqueue(
      user.id,
      `Your report "${report.title}" is being generated.`,
      `${site}/reports`,
    );
    await generateReport.enqueue(report.id, site);
    if (wantsHtml(request)) return reply.redirect('/reports', 303);
    return reply.code(202).send({ status: 'processing', report_id: report.id });
  });

  app.get<{ Params: { id: string } }>('/reports/:id', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const report = await ownReport(request, reply, user);
    if (!report) return reply;
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
