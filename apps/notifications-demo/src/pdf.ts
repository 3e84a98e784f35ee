/**
 * The report PDF, drawn with pdfkit: a title, the owner and the date, a table of the data
 * and a bar chart of the same numbers.
 */
import PDFDocument from 'pdfkit';
import type { ReportRow } from './models/index.ts';

export interface ReportDocument {
  id: number;
  title: string;
  ownerName: string;
  ownerEmail: string;
  createdAt: Date;
  rows: readonly ReportRow[];
}

const ACCENT = '#1d4ed8';
const MUTED = '#555555';
const MARGIN = 56;

function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** Render `report` as a one-page A4 PDF. */
export function renderReportPdf(report: ReportDocument, now: Date = new Date()): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: { Title: report.title, Author: report.ownerName, Subject: `Report #${report.id}` },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 2 * MARGIN;

  doc.font('Helvetica-Bold').fontSize(22).fillColor('#111111').text(report.title, { width });
  doc.moveDown(0.3);
  doc
    .font('Helvetica')
    .fontSize(10)
    .fillColor(MUTED)
    .text(`Report #${report.id} for ${report.ownerName} <${report.ownerEmail}>`)
    .text(
      `Requested ${report.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, generated ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    );
  doc.moveDown(0.6);
  doc
    .moveTo(MARGIN, doc.y)
    .lineTo(MARGIN + width, doc.y)
    .lineWidth(1)
    .strokeColor(ACCENT)
    .stroke();
  doc.moveDown(1);

  drawTable(doc, report.rows, width);
  doc.moveDown(1.5);
  drawChart(doc, report.rows, width);

  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor(MUTED)
    .text(
      'Generated in the background by the djtasks notifications demo.',
      MARGIN,
      doc.page.height - MARGIN - 10,
      { width, align: 'center', lineBreak: false },
    );
  doc.end();
  return done;
}

function drawTable(doc: PDFKit.PDFDocument, rows: readonly ReportRow[], width: number): void {
  const labelWidth = width * 0.6;
  const rowHeight = 18;
  const total = rows.reduce((sum, row) => sum + row.value, 0);
  let y = doc.y;
  doc.rect(MARGIN, y, width, rowHeight).fill(ACCENT);
  doc.font('Helvetica-Bold').fontSize(10).fillColor('#ffffff');
  doc.text('Label', MARGIN + 6, y + 5, { width: labelWidth - 12, lineBreak: false });
  doc.text('Value', MARGIN + labelWidth, y + 5, { width: width - labelWidth - 6, align: 'right' });
  y += rowHeight;
  doc.font('Helvetica').fillColor('#111111');
  rows.forEach((row, index) => {
    if (index % 2 === 1) doc.rect(MARGIN, y, width, rowHeight).fill('#eef2ff');
    doc.fillColor('#111111');
    doc.text(row.label, MARGIN + 6, y + 5, {
      width: labelWidth - 12,
      lineBreak: false,
      ellipsis: true,
    });
    doc.text(formatNumber(row.value), MARGIN + labelWidth, y + 5, {
      width: width - labelWidth - 6,
      align: 'right',
    });
    y += rowHeight;
  });
  doc
    .moveTo(MARGIN, y)
    .lineTo(MARGIN + width, y)
    .lineWidth(0.5)
    .strokeColor('#999999')
    .stroke();
  doc.font('Helvetica-Bold').fillColor('#111111');
  doc.text('Total', MARGIN + 6, y + 5, { width: labelWidth - 12, lineBreak: false });
  doc.text(formatNumber(total), MARGIN + labelWidth, y + 5, {
    width: width - labelWidth - 6,
    align: 'right',
  });
  doc.x = MARGIN;
  doc.y = y + rowHeight + 4;
}

function drawChart(doc: PDFKit.PDFDocument, rows: readonly ReportRow[], width: number): void {
  const chartHeight = 180;
  const top = doc.y + 28;
  const bottom = top + chartHeight;
  doc
    .font('Helvetica-Bold')
    .fontSize(12)
    .fillColor('#111111')
    .text('Value by label', MARGIN, doc.y);
  // Leave a tenth of the height above the tallest bar for its number.
  const max = Math.max(0, ...rows.map((row) => row.value)) * 1.1;
  const min = Math.min(0, ...rows.map((row) => row.value));
  const span = max - min || 1;
  const zeroY = bottom - ((0 - min) / span) * chartHeight;
  const slot = width / Math.max(rows.length, 1);
  const barWidth = Math.min(48, slot * 0.6);

  doc.lineWidth(0.5).strokeColor('#cccccc');
  for (let i = 0; i <= 4; i += 1) {
    const y = top + (chartHeight * i) / 4;
    doc
      .moveTo(MARGIN, y)
      .lineTo(MARGIN + width, y)
      .stroke();
  }
  rows.forEach((row, index) => {
    const x = MARGIN + slot * index + (slot - barWidth) / 2;
    const height = (Math.abs(row.value) / span) * chartHeight;
    const y = row.value >= 0 ? zeroY - height : zeroY;
    doc.rect(x, y, barWidth, Math.max(height, 0.5)).fill(row.value >= 0 ? ACCENT : '#b91c1c');
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor('#111111')
      .text(formatNumber(row.value), x - 10, y - 11, { width: barWidth + 20, align: 'center' });
    doc.fillColor(MUTED).text(row.label, MARGIN + slot * index, bottom + 4, {
      width: slot,
      align: 'center',
      height: 20,
      ellipsis: true,
    });
  });
  doc
    .lineWidth(1)
    .strokeColor('#333333')
    .moveTo(MARGIN, zeroY)
    .lineTo(MARGIN + width, zeroY)
    .stroke();
  doc.x = MARGIN;
  doc.y = bottom + 30;
}
