/**
 * What a PDF holds, read with Mozilla's PDF.js (pdfjs-dist), so the tests need no poppler:
 * its pages, their text items with bounding boxes, and the fonts it uses.
 *
 * - `layoutText` is what `pdftotext -layout` gave: items put back into lines by their
 *   baseline and ordered left to right, so a table row ("January 42") stays on one line.
 * - `flowText` is what plain `pdftotext` gave: the items in the order they were drawn, so
 *   the lines of a wrapped label follow each other.
 * - `textBoxes` is what `pdftotext -bbox` gave, per text item (PDF.js does not split items
 *   into words): in PDF points, origin at the top left of the page, y growing downwards,
 *   from the font's ascent to its descent, as poppler measures them.
 */
import { readFile } from 'node:fs/promises';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface PdfTextItem {
  text: string;
  /** Baseline origin in PDF user space (origin at the bottom left). */
  x: number;
  y: number;
  width: number;
  /** Font size (the height PDF.js reports). */
  height: number;
  /** A new line follows this item. */
  hasEOL: boolean;
  box: PdfBox;
}

/** In PDF points, origin at the top left of the page, y downwards. */
export interface PdfBox {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

export interface PdfTextBox extends PdfBox {
  /** From 1. */
  page: number;
  text: string;
}

export interface PdfPage {
  width: number;
  height: number;
  items: PdfTextItem[];
}

export interface PdfFont {
  /** As in the PDF, with its subset prefix (`ABCDEF+DejaVuSans`). */
  name: string;
  /** Whether the font program is embedded in the PDF. */
  embedded: boolean;
}

export interface PdfContents {
  pages: PdfPage[];
  /** Every font a page draws with, once each. */
  fonts: PdfFont[];
}

type Matrix = [number, number, number, number, number, number];

export async function readPdf(source: string | Uint8Array): Promise<PdfContents> {
  const data =
    typeof source === 'string' ? new Uint8Array(await readFile(source)) : new Uint8Array(source);
  // fontExtraProperties keeps each font's name, which `fonts` reports.
  const loading = getDocument({
    data,
    useSystemFonts: false,
    verbosity: 0,
    fontExtraProperties: true,
  });
  const document = await loading.promise;
  const pages: PdfPage[] = [];
  const fonts = new Map<string, PdfFont>();
  try {
    for (let number = 1; number <= document.numPages; number += 1) {
      const page = await document.getPage(number);
      const viewport = page.getViewport({ scale: 1 });
      const toPage = (x: number, y: number) => viewport.convertToViewportPoint(x, y) as number[];
      const content = await page.getTextContent();
      const items: PdfTextItem[] = [];
      for (const item of content.items) {
        if (!('str' in item)) continue;
        const style = content.styles[item.fontName];
        const transform = item.transform as Matrix;
        items.push({
          text: item.str,
          x: transform[4],
          y: transform[5],
          width: item.width,
          height: item.height,
          hasEOL: item.hasEOL,
          box: boxOf(transform, item.width, style?.ascent ?? 1, style?.descent ?? 0, toPage),
        });
      }
      pages.push({ width: viewport.width, height: viewport.height, items });
      // Drawing operators load the page's fonts into commonObjs.
      await page.getOperatorList();
      for (const [, object] of page.commonObjs) {
        const font = object as { name?: unknown; missingFile?: unknown; loadedName?: unknown };
        if (typeof font.name === 'string' && typeof font.loadedName === 'string')
          fonts.set(font.loadedName, { name: font.name, embedded: font.missingFile !== true });
      }
    }
  } finally {
    await loading.destroy();
  }
  return { pages, fonts: [...fonts.values()] };
}

/**
 * The box of a text item drawn with text matrix `transform` (font size included): its
 * corners in text space are (0, descent) to (advance, ascent), in units of the font size.
 */
function boxOf(
  transform: Matrix,
  width: number,
  ascent: number,
  descent: number,
  toPage: (x: number, y: number) => number[],
): PdfBox {
  const [a, b, c, d, e, f] = transform;
  const advance = width / (Math.hypot(a, b) || 1);
  const corners = [0, advance].flatMap((u) =>
    [descent, ascent].map((v) => toPage(a * u + c * v + e, b * u + d * v + f)),
  );
  const xs = corners.map((p) => p[0] as number);
  const ys = corners.map((p) => p[1] as number);
  return {
    xMin: Math.min(...xs),
    yMin: Math.min(...ys),
    xMax: Math.max(...xs),
    yMax: Math.max(...ys),
  };
}

/** The page's text laid out in lines, pages separated by form feeds (`pdftotext -layout`). */
export function layoutText(contents: PdfContents): string {
  return contents.pages
    .map((page) => {
      const items = page.items.filter((item) => item.text !== '');
      // Top of the page first. An item belongs to a line when its baseline is within half a
      // font size of the line's: a CJK run set by a fallback font sits a little lower than
      // the text around it, yet a wrapped label's next line is a line of its own.
      items.sort((a, b) => b.y - a.y || a.x - b.x);
      const lines: PdfTextItem[][] = [];
      for (const item of items) {
        const line = lines.at(-1);
        const first = line?.[0];
        if (line && first && Math.abs(first.y - item.y) <= Math.max(first.height, item.height) / 2)
          line.push(item);
        else lines.push([item]);
      }
      return lines
        .map((line) => {
          line.sort((a, b) => a.x - b.x);
          let text = '';
          let end = -Infinity;
          for (const item of line) {
            if (text !== '' && item.x - end > 0.5 && !/\s$/.test(text) && !/^\s/.test(item.text))
              text += ' ';
            text += item.text;
            end = item.x + item.width;
          }
          return text;
        })
        .join('\n');
    })
    .join('\n\f');
}

/** The text in the order it was drawn, a line break where PDF.js saw one (`pdftotext`). */
export function flowText(contents: PdfContents): string {
  return contents.pages
    .map((page) => page.items.map((item) => item.text + (item.hasEOL ? '\n' : '')).join(''))
    .join('\n\f');
}

/** A box for every text item that shows something (not only white space). */
export function textBoxes(contents: PdfContents): PdfTextBox[] {
  return contents.pages.flatMap((page, index) =>
    page.items
      .filter((item) => item.text.trim() !== '')
      .map((item) => ({ page: index + 1, text: item.text, ...item.box })),
  );
}

/** The text of a PDF, laid out in lines (see `layoutText`). */
export async function pdfText(source: string | Uint8Array): Promise<string> {
  return layoutText(await readPdf(source));
}
