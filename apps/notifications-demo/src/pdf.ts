/**
 * The report PDF, drawn with pdfkit on A4: a title, the owner and the date, a table of the
 * data and a bar chart of the same numbers, in embedded DejaVu Sans (see `pdf-fonts.ts`).
 *
 * Laid out for the limits the form allows (a 120-character title, 24 rows, 60-character
 * labels, values up to ±10^12): the title shrinks to fit three lines, table labels wrap and
 * the table continues on the next page with its header, the chart is never split (it moves
 * to the next page whole), chart labels are shortened and turned upright when the bars are
 * narrow, and nothing is drawn below the content area, which ends above the footer.
 */
import PDFDocument from 'pdfkit';
import type { ReportRow } from './models/index.ts';
import {
  drawable,
  fallbackFont,
  FONTS,
  PLACEHOLDER,
  truncated,
  type DrawableText,
} from './pdf-fonts.ts';

export interface ReportDocument {
  id: number;
  title: string;
  ownerName: string;
  ownerEmail: string;
  createdAt: Date;
  rows: readonly ReportRow[];
}

const ACCENT = '#1d4ed8';
const NEGATIVE = '#b91c1c';
const MUTED = '#555555';
const MARGIN = 56;
const FOOTER_SIZE = 8;
const ROW_PADDING = 4;
const CHART_HEIGHT = 180;
/** The length of an upright chart label. */
const UPRIGHT_LABEL = 80;

type Doc = PDFKit.PDFDocument;
type FontName = keyof typeof FONTS;

/** A row as drawn: its label split into font runs. */
interface DrawnRow {
  label: DrawableText;
  value: number;
}

/**
 * Write `text` run by run (main font, fallback font), as one flowing paragraph: pdfkit's
 * `continued` keeps wrapping and alignment across the font changes.
 */
function write(
  doc: Doc,
  text: DrawableText,
  font: FontName,
  x: number,
  y: number,
  options: PDFKit.Mixins.TextOptions,
): void {
  const runs = text.runs.length > 0 ? text.runs : [{ text: '', fallback: false }];
  runs.forEach((run, index) => {
    doc.font(run.fallback ? 'Fallback' : font);
    const each = { ...options, continued: index < runs.length - 1 };
    if (index === 0) doc.text(run.text, x, y, each);
    else doc.text(run.text, each);
  });
  doc.font(font);
}

/** The lowest y content may reach: the footer sits below it. */
function contentBottom(doc: Doc): number {
  return doc.page.height - MARGIN - FOOTER_SIZE - 12;
}

function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function compactNumber(value: number): string {
  return value.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 1 });
}

function stamp(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `text` cut with an ellipsis to fit `width` at the current font. */
function shorten(doc: Doc, text: DrawableText, width: number): DrawableText {
  if (doc.widthOfString(text.measure) <= width) return text;
  const chars = Array.from(text.measure);
  while (chars.length > 0 && doc.widthOfString(`${chars.join('')}…`) > width) chars.pop();
  return truncated(text, chars.length);
}

/** Render `report` as an A4 PDF (one page for a short report, more at the limits). */
export function renderReportPdf(report: ReportDocument, now: Date = new Date()): Promise<Buffer> {
  const title = drawable(report.title);
  const owner = drawable(`Report #${report.id} for ${report.ownerName} <${report.ownerEmail}>`);
  const rows = report.rows.map((row) => ({ ...row, label: drawable(row.label) }));
  const replaced = title.replaced || owner.replaced || rows.some((row) => row.label.replaced);

  const doc = new PDFDocument({
    size: 'A4',
    // The bottom margin is small so pdfkit never adds pages by itself; `contentBottom` is
    // the real limit, and the footer is drawn below it.
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: 16 },
    bufferPages: true,
    info: { Title: report.title, Author: report.ownerName, Subject: `Report #${report.id}` },
  });
  doc.registerFont('Body', FONTS.Body);
  doc.registerFont('Bold', FONTS.Bold);
  const extra = fallbackFont();
  if (extra) doc.registerFont('Fallback', extra.path);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 2 * MARGIN;

  drawTitle(doc, title, width);
  doc.moveDown(0.3);
  doc.font('Body').fontSize(10).fillColor(MUTED);
  write(doc, owner, 'Body', MARGIN, doc.y, { width });
  doc.text(`Requested ${stamp(report.createdAt)}, generated ${stamp(now)}`, { width });
  if (replaced) {
    doc.text(`${PLACEHOLDER} marks characters this PDF's fonts cannot show (such as emoji).`, {
      width,
    });
  }
  doc.moveDown(0.6);
  doc
    .moveTo(MARGIN, doc.y)
    .lineTo(MARGIN + width, doc.y)
    .lineWidth(1)
    .strokeColor(ACCENT)
    .stroke();
  doc.moveDown(1);

  drawTable(doc, rows, width);
  drawChart(doc, rows, width);
  drawFooters(doc, width);
  doc.end();
  return done;
}

/** The title in bold, at the largest size that fits three lines (120 characters always do). */
function drawTitle(doc: Doc, title: DrawableText, width: number): void {
  doc.font('Bold').fillColor('#111111');
  for (const size of [22, 18, 15, 13, 11]) {
    doc.fontSize(size);
    if (doc.heightOfString(title.measure, { width }) <= doc.currentLineHeight(true) * 3) break;
  }
  write(doc, title, 'Bold', MARGIN, doc.y, { width });
}

function tableHeader(doc: Doc, y: number, width: number, labelWidth: number): number {
  const height = 18;
  doc.rect(MARGIN, y, width, height).fill(ACCENT);
  doc.font('Bold').fontSize(10).fillColor('#ffffff');
  doc.text('Label', MARGIN + 6, y + 4, { width: labelWidth - 12, lineBreak: false });
  doc.text('Value', MARGIN + labelWidth, y + 4, { width: width - labelWidth - 6, align: 'right' });
  return y + height;
}

/** The table: full labels (wrapped), full values; continues on a new page with its header. */
function drawTable(doc: Doc, rows: readonly DrawnRow[], width: number): void {
  const labelWidth = width * 0.65;
  const valueWidth = width - labelWidth - 6;
  const total = rows.reduce((sum, row) => sum + row.value, 0);
  let y = tableHeader(doc, doc.y, width, labelWidth);
  const line = (label: DrawableText, value: string, index: number, bold: boolean) => {
    doc.font(bold ? 'Bold' : 'Body').fontSize(10);
    const height =
      Math.max(
        doc.heightOfString(label.measure, { width: labelWidth - 12 }),
        doc.currentLineHeight(),
      ) +
      2 * ROW_PADDING;
    if (y + height > contentBottom(doc)) {
      doc.addPage();
      y = tableHeader(doc, MARGIN, width, labelWidth);
      doc.font(bold ? 'Bold' : 'Body').fontSize(10);
    }
    if (index % 2 === 1) doc.rect(MARGIN, y, width, height).fill('#eef2ff');
    if (bold) {
      doc
        .moveTo(MARGIN, y)
        .lineTo(MARGIN + width, y)
        .lineWidth(0.5)
        .strokeColor('#999999')
        .stroke();
    }
    doc.fillColor('#111111');
    const font = bold ? 'Bold' : 'Body';
    write(doc, label, font, MARGIN + 6, y + ROW_PADDING, { width: labelWidth - 12 });
    doc.text(value, MARGIN + labelWidth, y + ROW_PADDING, { width: valueWidth, align: 'right' });
    y += height;
  };
  rows.forEach((row, index) => line(row.label, formatNumber(row.value), index, false));
  line(drawable('Total'), formatNumber(total), 0, true);
  doc.x = MARGIN;
  doc.y = y + 8;
}

/** The bar chart, whole on this page or on the next. */
function drawChart(doc: Doc, rows: readonly DrawnRow[], width: number): void {
  const slot = width / Math.max(rows.length, 1);
  doc.font('Body').fontSize(8);
  // Labels lie flat when each fits two lines of its slot without breaking a word, and
  // stand upright otherwise.
  const upright = rows.some(
    (row) =>
      row.label.measure.split(/\s+/).some((word) => doc.widthOfString(word) > slot - 2) ||
      doc.heightOfString(row.label.measure, { width: slot }) > doc.currentLineHeight(true) * 2 + 1,
  );
  const labelSpace = upright ? UPRIGHT_LABEL + 6 : 26;
  const needed = 24 + CHART_HEIGHT + labelSpace;
  if (doc.y + 12 + needed > contentBottom(doc)) doc.addPage();
  else doc.y += 12;

  doc.font('Bold').fontSize(12).fillColor('#111111').text('Value by label', MARGIN, doc.y);
  const top = doc.y + 10;
  const bottom = top + CHART_HEIGHT;
  // A tenth of the span above the tallest bar and below the lowest for their numbers.
  const highest = Math.max(0, ...rows.map((row) => row.value));
  const lowest = Math.min(0, ...rows.map((row) => row.value));
  const room = (highest - lowest || 1) * 0.1;
  const max = highest + (highest > 0 || lowest === 0 ? room : 0);
  const min = lowest - (lowest < 0 ? room : 0);
  const span = max - min || 1;
  const yOf = (value: number) => bottom - ((value - min) / span) * CHART_HEIGHT;
  const zeroY = yOf(0);
  const barWidth = Math.min(48, slot * 0.6);

  doc.lineWidth(0.5).strokeColor('#cccccc');
  for (let i = 0; i <= 4; i += 1) {
    const y = top + (CHART_HEIGHT * i) / 4;
    doc
      .moveTo(MARGIN, y)
      .lineTo(MARGIN + width, y)
      .stroke();
  }
  rows.forEach((row, index) => {
    const center = MARGIN + slot * index + slot / 2;
    const x = center - barWidth / 2;
    const end = yOf(row.value);
    const barTop = Math.min(end, zeroY);
    doc
      .rect(x, barTop, barWidth, Math.max(Math.abs(zeroY - end), 0.5))
      .fill(row.value >= 0 ? ACCENT : NEGATIVE);
    // The bar's number, when it fits its slot (the table has every number in full).
    doc.font('Body').fontSize(7).fillColor('#111111');
    const number = compactNumber(row.value);
    if (doc.widthOfString(number) <= slot - 2) {
      const labelY = row.value >= 0 ? end - 10 : end + 2;
      doc.text(number, center - slot / 2, labelY, {
        width: slot,
        align: 'center',
        lineBreak: false,
      });
    }
    doc.font('Body').fontSize(8).fillColor(MUTED);
    if (upright) {
      const text = shorten(doc, row.label, UPRIGHT_LABEL);
      const originX = center - 4;
      const originY = bottom + 4 + UPRIGHT_LABEL;
      doc.save();
      doc.rotate(-90, { origin: [originX, originY] });
      write(doc, text, 'Body', originX, originY, {
        width: UPRIGHT_LABEL,
        align: 'right',
        lineBreak: false,
      });
      doc.restore();
    } else {
      // Flat labels fit two lines of their slot (checked above).
      write(doc, row.label, 'Body', center - slot / 2, bottom + 4, {
        width: slot,
        align: 'center',
      });
    }
  });
  doc
    .lineWidth(1)
    .strokeColor('#333333')
    .moveTo(MARGIN, zeroY)
    .lineTo(MARGIN + width, zeroY)
    .stroke();
  doc.x = MARGIN;
  doc.y = bottom + labelSpace;
}

/** "Generated by … · Page i of n" under the content area of every page. */
function drawFooters(doc: Doc, width: number): void {
  const range = doc.bufferedPageRange();
  for (let index = range.start; index < range.start + range.count; index += 1) {
    doc.switchToPage(index);
    doc
      .font('Body')
      .fontSize(FOOTER_SIZE)
      .fillColor(MUTED)
      .text(
        `Generated in the background by the djtasks notifications demo · Page ${index + 1} of ${range.count}`,
        MARGIN,
        doc.page.height - MARGIN - FOOTER_SIZE,
        { width, align: 'center', lineBreak: false },
      );
  }
}
