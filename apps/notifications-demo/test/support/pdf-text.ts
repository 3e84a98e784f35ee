/**
 * The text of a PDF, with Mozilla's PDF.js (pdfjs-dist), so the tests need no poppler.
 * Text items are put back into lines by their baseline and ordered left to right, with a
 * space between items that do not touch, which keeps a table row ("January 42") on one line
 * as `pdftotext -layout` does.
 */
import { readFile } from 'node:fs/promises';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

interface Item {
  str: string;
  x: number;
  y: number;
  width: number;
}

export async function pdfText(source: string | Uint8Array): Promise<string> {
  const data =
    typeof source === 'string' ? new Uint8Array(await readFile(source)) : new Uint8Array(source);
  const loading = getDocument({
    data,
    useSystemFonts: false,
    verbosity: 0,
  });
  const document = await loading.promise;
  const pages: string[] = [];
  try {
    for (let number = 1; number <= document.numPages; number += 1) {
      const page = await document.getPage(number);
      const content = await page.getTextContent();
      const items: Item[] = [];
      for (const item of content.items) {
        if (!('str' in item) || item.str === '') continue;
        items.push({
          str: item.str,
          x: item.transform[4] as number,
          y: item.transform[5] as number,
          width: item.width,
        });
      }
      // Top of the page first; items within 2 points of a line's baseline belong to it.
      items.sort((a, b) => b.y - a.y || a.x - b.x);
      const lines: Item[][] = [];
      for (const item of items) {
        const line = lines.at(-1);
        if (line && Math.abs((line[0] as Item).y - item.y) <= 2) line.push(item);
        else lines.push([item]);
      }
      pages.push(
        lines
          .map((line) => {
            line.sort((a, b) => a.x - b.x);
            let text = '';
            let end = -Infinity;
            for (const item of line) {
              if (text !== '' && item.x - end > 0.5 && !/\s$/.test(text) && !/^\s/.test(item.str))
                text += ' ';
              text += item.str;
              end = item.x + item.width;
            }
            return text;
          })
          .join('\n'),
      );
    }
  } finally {
    await loading.destroy();
  }
  return pages.join('\n\f');
}
