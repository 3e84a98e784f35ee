/**
 * The report PDF at the limits the form allows, checked the way a reader would: each page
 * rendered to PNG, the page count, every label and the total in the extracted text, and no
 * text below the top of the footer or off the page. PDF.js reads and draws the PDFs (see
 * test/support/pdf-text.ts and pdf-image.ts), so nothing outside Node is needed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReportRow } from '../src/models/index.ts';
import { fallbackFont } from '../src/pdf-fonts.ts';
import { renderReportPdf, type ReportDocument } from '../src/pdf.ts';
import { pdfPagesToPng } from './support/pdf-image.ts';
import {
  flowText,
  layoutText,
  readPdf,
  textBoxes,
  type PdfFont,
  type PdfTextBox,
} from './support/pdf-text.ts';
import { temporaryFolder } from './support/processes.ts';

/** Whether the CJK fallback font (Debian's fonts-droid-fallback) is installed here. */
const CJK = fallbackFont() !== null;
const folder = temporaryFolder('demo-pdf-');
// Set PDF_PNG_DIR to keep the PNGs and look at them.
const pngDir = process.env.PDF_PNG_DIR ?? folder.path;

afterAll(() => folder.remove());

interface Rendered {
  pages: number;
  /** Laid out in lines, as `pdftotext -layout` did. */
  text: string;
  /** In drawing order: a wrapped label's lines follow each other. */
  flow: string;
  /** One per text item, in points from the page's top left (see pdf-text.ts). */
  boxes: PdfTextBox[];
  pageSizes: { width: number; height: number }[];
  fonts: PdfFont[];
  pngs: string[];
}

async function render(name: string, report: Partial<ReportDocument>): Promise<Rendered> {
  const pdf = await renderReportPdf(
    {
      id: 7,
      title: 'Weekly signups',
      ownerName: 'Ada Lovelace',
      ownerEmail: 'ada@example.com',
      createdAt: new Date('2026-12-01T09:00:00Z'),
      rows: [],
      ...report,
    },
    new Date('2026-12-01T09:01:00Z'),
  );
  const file = join(folder.path, `${name}.pdf`);
  writeFileSync(file, pdf);
  const contents = await readPdf(file);
  mkdirSync(pngDir, { recursive: true });
  const pngs = await pdfPagesToPng(file, join(pngDir, name), { dpi: 50 });
  return {
    pages: contents.pages.length,
    text: layoutText(contents),
    flow: flowText(contents),
    boxes: textBoxes(contents),
    pageSizes: contents.pages.map(({ width, height }) => ({ width, height })),
    fonts: contents.fonts,
    pngs,
  };
}

const FOOTER = 'Generated in the background by the djtasks notifications demo';

/** Every text box above the footer's top and inside the page; the footer on every page. */
function expectLaidOut(rendered: Rendered): void {
  const footers = rendered.boxes.filter((box) => box.text.startsWith(FOOTER));
  expect(footers.map((box) => box.page)).toEqual(
    Array.from({ length: rendered.pages }, (_, i) => i + 1),
  );
  for (const footer of footers)
    expect(footer.text).toContain(`Page ${footer.page} of ${rendered.pages}`);
  const footerTop = Math.min(...footers.map((box) => box.yMin));
  for (const box of rendered.boxes) {
    const where = `"${box.text}" p${box.page}`;
    const page = rendered.pageSizes[box.page - 1] ?? { width: 0, height: 0 };
    const inFooter = Math.abs(box.yMin - footerTop) < 1;
    if (!inFooter) expect(box.yMax, where).toBeLessThan(footerTop - 2);
    expect(box.xMin, where).toBeGreaterThanOrEqual(0);
    expect(box.xMax, where).toBeLessThanOrEqual(page.width);
    expect(box.yMin, where).toBeGreaterThanOrEqual(0);
    expect(box.yMax, where).toBeLessThanOrEqual(page.height);
  }
  expect(rendered.pngs).toHaveLength(rendered.pages);
}

/** Whether `text` holds `needle`, ignoring where lines were broken. */
function holds(text: string, needle: string): boolean {
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  return squeeze(text).includes(squeeze(needle));
}

describe('report PDF layout', () => {
  it('fits a short report on one page', async () => {
    const rows = [
      { label: 'Monday', value: 12 },
      { label: 'Tuesday', value: 19.5 },
      { label: 'Wednesday', value: 7 },
    ];
    const rendered = await render('short', { rows });
    expect(rendered.pages).toBe(1);
    for (const row of rows) expect(rendered.text).toContain(row.label);
    expect(rendered.text).toMatch(/Total\s+38\.5/);
    expect(rendered.text).toContain('Page 1 of 1');
    expectLaidOut(rendered);
  });

  it('lays out the limits: longest title, 24 rows of longest labels, huge and negative values', async () => {
    const title = `${'Quarterly revenue by region and product line, '.repeat(3)}final`.slice(
      0,
      120,
    );
    expect(title).toHaveLength(120);
    const rows: ReportRow[] = Array.from({ length: 24 }, (_, i) => ({
      label: `Region ${String(i + 1).padStart(2, '0')} ${'WWWWW Mmmmm '.repeat(5)}`.slice(0, 60),
      value: i % 3 === 0 ? -1e12 + i : i % 3 === 1 ? 1e12 - i : (i - 12) * 12345.67,
    }));
    expect(Math.max(...rows.map((row) => row.label.length))).toBe(60);
    const rendered = await render('limits', { title, rows });
    // The table runs over two pages (labels wrap); the chart is whole on the second.
    expect(rendered.pages).toBe(2);
    expect(holds(rendered.flow, title)).toBe(true);
    for (const row of rows) expect(holds(rendered.flow, row.label), row.label).toBe(true);
    const total = rows.reduce((sum, row) => sum + row.value, 0);
    expect(rendered.text).toMatch(
      new RegExp(
        `Total\\s+${total.toLocaleString('en-US', { maximumFractionDigits: 2 }).replace(/[.,-]/g, '\\$&')}`,
      ),
    );
    expect(rendered.text).toContain('-999,999,999,997');
    const chartTitle = rendered.boxes.filter((box) => box.text === 'Value by label');
    expect(chartTitle.map((box) => box.page)).toEqual([2]);
    expectLaidOut(rendered);
  });

  it('fits 24 short rows on two pages with the chart whole', async () => {
    const rows = Array.from({ length: 24 }, (_, i) => ({
      label: `Week ${i + 1}`,
      value: i * 3 - 20,
    }));
    const rendered = await render('rows24', { rows });
    expect(rendered.pages).toBe(2);
    for (const row of rows) expect(rendered.text).toContain(row.label);
    expectLaidOut(rendered);
  });

  it('embeds fonts for Cyrillic, Greek and (with the fallback font) CJK; emoji become a placeholder', async () => {
    const rows = [
      { label: 'Москва', value: 120 },
      { label: 'Αθήνα', value: 80 },
      { label: '東京', value: 200 },
      { label: 'Rocket 🚀 launch', value: 5 },
      { label: 'Zürich – Łódź', value: -15 },
    ];
    const rendered = await render('scripts', {
      title: 'Отчёт · Αναφορά · 報告 🚀',
      ownerName: 'Фёдор Δημήτρης',
      rows,
    });
    expect(rendered.pages).toBe(1);
    for (const text of ['Москва', 'Αθήνα', 'Zürich – Łódź', 'Отчёт · Αναφορά', 'Фёдор Δημήτρης'])
      expect(rendered.text, text).toContain(text);
    if (CJK) {
      expect(rendered.text).toContain('東京');
      expect(rendered.text).toContain('Αναφορά · 報告 □');
    } else {
      expect(rendered.text).toContain('□□');
    }
    expect(rendered.text).toContain('Rocket □ launch');
    expect(rendered.text).toContain("□ marks characters this PDF's fonts cannot show");
    // Nothing of the garbage a non-embedded font prints.
    expect(rendered.text).not.toMatch(/gqN|Ø=Þ/);
    // Every font embedded (subset names look like `ABCDEF+DejaVuSans`), none of the 14 standard ones.
    const fonts = rendered.fonts.map((font) => font.name.replace(/^[A-Z]{6}\+/, ''));
    expect(fonts).toContain('DejaVuSans');
    if (CJK) expect(fonts).toContain('DroidSansFallback');
    expect(rendered.fonts.filter((font) => !font.embedded)).toEqual([]);
    expect(fonts.join(' ')).not.toMatch(/Helvetica/);
    expectLaidOut(rendered);
  });

  it('lays out the limits in Chinese: 120-character title, 24 rows of 60-character labels', async () => {
    const text = '東京大阪名古屋札幌福岡神戸京都横浜仙台広島';
    const title = text.repeat(6);
    const rows = Array.from({ length: 24 }, (_, i) => ({
      label: `${i + 1}${text.repeat(3)}`.slice(0, 60),
      value: (i - 10) * 1e9,
    }));
    const rendered = await render('cjk-limits', { title, rows });
    expect(rendered.pages).toBeGreaterThanOrEqual(2);
    if (CJK) {
      expect(holds(rendered.flow, title)).toBe(true);
      for (const row of rows) expect(holds(rendered.flow, row.label), row.label).toBe(true);
    }
    expectLaidOut(rendered);
  });
});
