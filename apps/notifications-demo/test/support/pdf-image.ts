/**
 * A page of a PDF as a PNG, drawn by PDF.js (pdfjs-dist) on its Node canvas (@napi-rs/canvas,
 * which pdfjs-dist installs): what poppler's `pdftoppm -png` gave, without poppler.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

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
  const loading = getDocument({ data: new Uint8Array(await readFile(file)), verbosity: 0 });
  try {
    const document = await loading.promise;
    const page = await document.getPage(pageNumber);
    const viewport = page.getViewport({ scale: dpi / 72 });
    // In Node, PDF.js brings a canvas factory of its own (on @napi-rs/canvas).
    const factory = (document as unknown as { canvasFactory: CanvasFactory }).canvasFactory;
    const { canvas, context } = factory.create(
      Math.ceil(viewport.width),
      Math.ceil(viewport.height),
    );
    await page.render({ canvasContext: context as never, viewport, canvas: canvas as never })
      .promise;
    await writeFile(png, canvas.toBuffer('image/png'));
  } finally {
    await loading.destroy();
  }
}
