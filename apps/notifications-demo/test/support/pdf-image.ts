/**
 * Pages of a PDF as PNGs, drawn by PDF.js (pdfjs-dist) on its Node canvas (@napi-rs/canvas,
 * which pdfjs-dist installs): what poppler's `pdftoppm -png` gave, without poppler.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { getDocument, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

interface NodeCanvas {
  toBuffer(type: 'image/png'): Buffer;
}
interface CanvasFactory {
  create(width: number, height: number): { canvas: NodeCanvas; context: unknown };
}

/** Write page `pageNumber` (from 1) of the PDF `file` to `png` at `dpi` dots per inch. */
export async function pdfPageToPng(
  file: string,
  png: string,
  { pageNumber = 1, dpi = 80 }: { pageNumber?: number; dpi?: number } = {},
): Promise<void> {
  await withDocument(file, (document) => drawPage(document, pageNumber, png, dpi));
}

/**
 * Write every page of the PDF `file` to `${prefix}-${n}.png` (n from 1) at `dpi` dots per
 * inch; returns the files written, in page order.
 */
export async function pdfPagesToPng(
  file: string,
  prefix: string,
  { dpi = 80 }: { dpi?: number } = {},
): Promise<string[]> {
  return withDocument(file, async (document) => {
    const pngs: string[] = [];
    for (let number = 1; number <= document.numPages; number += 1) {
      const png = `${prefix}-${number}.png`;
      await drawPage(document, number, png, dpi);
      pngs.push(png);
    }
    return pngs;
  });
}

async function withDocument<T>(
  file: string,
  use: (document: PDFDocumentProxy) => Promise<T>,
): Promise<T> {
  const loading = getDocument({ data: new Uint8Array(await readFile(file)), verbosity: 0 });
  try {
    return await use(await loading.promise);
  } finally {
    await loading.destroy();
  }
}

async function drawPage(
  document: PDFDocumentProxy,
  pageNumber: number,
  png: string,
  dpi: number,
): Promise<void> {
  const page = await document.getPage(pageNumber);
  const viewport = page.getViewport({ scale: dpi / 72 });
  // In Node, PDF.js brings a canvas factory of its own (on @napi-rs/canvas).
  const factory = (document as unknown as { canvasFactory: CanvasFactory }).canvasFactory;
  const { canvas, context } = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
  await page.render({ canvasContext: context as never, viewport, canvas: canvas as never }).promise;
  await writeFile(png, canvas.toBuffer('image/png'));
}
