/**
 * The report PDF at the limits the form allows, checked the way a reader would: each page
 * rendered to PNG (pdftoppm), the page count, every label and the total in the extracted
 * text, and no word below the top of the footer or off the page (pdftotext -bbox).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReportRow } from '../src/models/index.ts';
import { fallbackFont } from '../src/pdf-fonts.ts';
import { renderReportPdf, type ReportDocument } from '../src/pdf.ts';
import { temporaryFolder } from './support/processes.ts';

const run = promisify(execFile);
/** Whether the CJK fallback font (Debian's fonts-droid-fallback) is installed here. */
const CJK = fallbackFont() !== null;
const folder = temporaryFolder('demo-pdf-');
// Set PDF_PNG_DIR to keep the PNGs and look at them.
const pngDir = process.env.PDF_PNG_DIR ?? folder.path;

afterAll(() => folder.remove());

interface Word {
  page: number;
  text: string;
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

interface Rendered {
  pages: number;
  text: string;
  flow: string;
  words: Word[];
  pageSize: { width: number; height: number };
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
  const info = (await run('pdfinfo', [file])).stdout;
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
  const text = (await run('pdftotext', ['-layout', file, '-'])).stdout;
  // In reading order (no -layout), a wrapped label's lines follow each other.
  const flow = (await run('pdftotext', [file, '-'])).stdout;
  const bbox = (await run('pdftotext', ['-bbox', file, '-'])).stdout;
  const words: Word[] = [];
  let page = 0;
  let pageSize = { width: 0, height: 0 };
  for (const match of bbox.matchAll(
    /<page width="([\d.]+)" height="([\d.]+)">|<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g,
  )) {
    if (match[1]) {
      page += 1;
      pageSize = { width: Number(match[1]), height: Number(match[2]) };
    } else {
      words.push({
        page,
        text: match[7] ?? '',
        xMin: Number(match[3]),
        yMin: Number(match[4]),
        xMax: Number(match[5]),
        yMax: Number(match[6]),
      });
    }
  }
  mkdirSync(pngDir, { recursive: true });
  await run('pdftoppm', ['-png', '-r', '50', file, join(pngDir, name)]);
  const pngs = readdirSync(pngDir).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.png'));
  return { pages, text, flow, words, pageSize, pngs };
}

/** Every word above the footer's top and inside the page; the footer on every page. */
function expectLaidOut(rendered: Rendered): void {
  const footers = rendered.words.filter((w) => w.text === 'Generated');
  expect(footers.map((w) => w.page)).toEqual(
    Array.from({ length: rendered.pages }, (_, i) => i + 1),
  );
  const footerTop = Math.min(...footers.map((w) => w.yMin));
  for (const word of rendered.words) {
    const inFooter = Math.abs(word.yMin - footerTop) < 1;
    if (!inFooter) expect(word.yMax, `"${word.text}" p${word.page}`).toBeLessThan(footerTop - 2);
    expect(word.xMin, word.text).toBeGreaterThanOrEqual(0);
    expect(word.xMax, word.text).toBeLessThanOrEqual(rendered.pageSize.width);
    expect(word.yMin, word.text).toBeGreaterThanOrEqual(0);
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
    const chartTitle = rendered.words.filter((w) => w.text === 'Value');
    expect(chartTitle.map((w) => w.page)).toContain(2);
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
    const fonts = (await run('pdffonts', [join(folder.path, 'scripts.pdf')])).stdout;
    expect(fonts).toMatch(/DejaVuSans\s.*yes/);
    if (CJK) expect(fonts).toMatch(/DroidSansFallback.*yes/);
    expect(fonts).not.toMatch(/Helvetica/);
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
