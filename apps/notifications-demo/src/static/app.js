// The reports page: create a report without leaving the page, and poll pending reports
// until they are completed or failed. Served from /static (the CSP allows only 'self').
/* global document, fetch, window, setTimeout */
'use strict';

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

function el(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderAction(cell, report) {
  cell.replaceChildren();
  if (report.status === 'completed') {
    cell.append(el('a', { href: report.download_url }, 'Download PDF'));
  } else if (report.status === 'failed') {
    cell.append(el('span', { class: 'error' }, report.error ?? 'failed'));
  } else {
    const retry = report.attempts > 1 ? ` (attempt ${report.attempts})` : '';
    cell.append(el('span', { class: 'muted' }, `rendering…${retry}`));
  }
}

function updateRow(row, report) {
  row.dataset.status = report.status;
  const badge = row.querySelector('[data-role="status"]');
  badge.textContent = report.status;
  badge.className = `status status-${report.status}`;
  renderAction(row.querySelector('[data-role="action"]'), report);
}

function addRow(report) {
  const row = el('tr', {
    'data-report-id': String(report.report_id),
    'data-status': report.status,
  });
  row.append(
    el('td', {}, `#${report.report_id}`),
    el('td', {}, report.title),
    el('td', {}, `${report.created_at.slice(0, 16).replace('T', ' ')} UTC`),
  );
  const statusCell = el('td', {});
  statusCell.append(el('span', { 'data-role': 'status' }));
  row.append(statusCell, el('td', { 'data-role': 'action' }));
  document.querySelector('#reports tbody').prepend(row);
  document.querySelector('#no-reports')?.remove();
  updateRow(row, report);
}

async function poll() {
  const pending = document.querySelectorAll('#reports tr[data-status="pending"]');
  for (const row of pending) {
    const response = await fetch(`/reports/${row.dataset.reportId}`, {
      headers: { accept: 'application/json' },
    });
    if (response.ok) updateRow(row, await response.json());
  }
  setTimeout(poll, 1000);
}

async function createReport(event) {
  event.preventDefault();
  const form = event.target;
  const message = document.querySelector('#report-message');
  const fields = new window.FormData(form);
  message.textContent = 'Sending…';
  const response = await fetch('/reports', {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      'x-csrftoken': csrfToken,
    },
    body: JSON.stringify({ title: fields.get('title'), data: fields.get('data') }),
  });
  const body = await response.json();
  if (response.status !== 202) {
    message.textContent = body.error ?? `Error ${response.status}`;
    return;
  }
  message.textContent = `Report #${body.report_id} accepted (${body.status}): this page updates itself when the PDF is ready.`;
  const status = await fetch(`/reports/${body.report_id}`, {
    headers: { accept: 'application/json' },
  });
  if (status.ok) addRow(await status.json());
}

if (document.querySelector('#reports')) {
  document.querySelector('#new-report')?.addEventListener('submit', (event) => {
    createReport(event).catch((error) => {
      document.querySelector('#report-message').textContent = String(error);
    });
  });
  poll().catch(() => undefined);
}
