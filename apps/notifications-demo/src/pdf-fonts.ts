/**
 * The fonts embedded in report PDFs: DejaVu Sans (from the `dejavu-fonts-ttf` package; Bitstream
 * Vera license with public-domain changes, free to embed), which covers Latin, Greek and
 * Cyrillic. What it cannot draw (CJK, emoji) is replaced by a visible placeholder, never by
 * the garbage a font without the glyph would print.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as fontkit from 'fontkit';

const require = createRequire(import.meta.url);
const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');

/** The font files, by the name the PDF code uses. */
export const FONTS = {
  regular: join(FONT_DIR, 'DejaVuSans.ttf'),
  bold: join(FONT_DIR, 'DejaVuSans-Bold.ttf'),
} as const;

/** Shown instead of a character no embedded font has (U+25A1 WHITE SQUARE). */
export const PLACEHOLDER = '\u25a1';

let regular: fontkit.Font | null = null;
function coverage(): fontkit.Font {
  regular ??= fontkit.openSync(FONTS.regular) as fontkit.Font;
  return regular;
}

/**
 * `text` with every character the fonts cannot draw replaced by `PLACEHOLDER`, and whether
 * any was replaced. Whole code points are replaced (an emoji is one placeholder, not two).
 */
export function drawable(text: string): { text: string; replaced: boolean } {
  const font = coverage();
  let replaced = false;
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    // Variation selectors and joiners are invisible parts of an emoji already replaced.
    if (code === 0xfe0f || code === 0x200d) {
      replaced = true;
      continue;
    }
    if (code < 0x20 || font.hasGlyphForCodePoint(code)) out += char;
    else {
      out += PLACEHOLDER;
      replaced = true;
    }
  }
  return { text: out, replaced };
}
