/**
 * The fonts embedded in report PDFs: DejaVu Sans (from the `dejavu-fonts-ttf` package; Bitstream
 * Vera license with public-domain changes, free to embed), which covers Latin, Greek and
 * Cyrillic, then a fallback font for what it lacks (CJK): `PDF_FALLBACK_FONT`, by default
 * Debian's Droid Sans Fallback (`fonts-droid-fallback`, Apache 2.0) when it is installed.
 * CJK fonts on npm come as 70 MB packages of per-range web-font pieces, so the fallback is a
 * system font. What no font can draw (emoji, or CJK without a fallback) becomes a visible
 * placeholder, never the garbage a font without the glyph would print.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as fontkit from 'fontkit';
import { settings } from './settings.ts';

const require = createRequire(import.meta.url);
const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');

/** The font files, by the name the PDF code registers them under. */
export const FONTS = {
  Body: join(FONT_DIR, 'DejaVuSans.ttf'),
  Bold: join(FONT_DIR, 'DejaVuSans-Bold.ttf'),
} as const;

/** Shown instead of a character no embedded font has (U+25A1 WHITE SQUARE). */
export const PLACEHOLDER = '\u25a1';

/** A piece of text in one font: the main one, or the fallback. */
export interface TextRun {
  text: string;
  fallback: boolean;
}

/** Text split into runs by font, and what it looks like to measure it. */
export interface DrawableText {
  runs: TextRun[];
  /** The whole text as it will read (placeholders included). */
  text: string;
  /**
   * The text with each fallback character as "W" (a full-width-like DejaVu glyph), for
   * measuring with the main font: a CJK character is about one em wide, as "W" is.
   */
  measure: string;
  /** Whether something was replaced by the placeholder. */
  replaced: boolean;
}

interface LoadedFont {
  path: string;
  font: fontkit.Font;
}

let main: fontkit.Font | null = null;
let fallback: LoadedFont | null | undefined;

function mainFont(): fontkit.Font {
  main ??= fontkit.openSync(FONTS.Body) as fontkit.Font;
  return main;
}

/** The fallback font, or `null` when none is configured or installed. */
export function fallbackFont(): LoadedFont | null {
  if (fallback === undefined) {
    const path = settings.PDF_FALLBACK_FONT;
    fallback =
      path !== 'none' && existsSync(path)
        ? { path, font: fontkit.openSync(path) as fontkit.Font }
        : null;
  }
  return fallback;
}

/**
 * `text` as runs of the main and fallback fonts, every character neither can draw replaced
 * by `PLACEHOLDER`. Whole code points are replaced (an emoji is one placeholder, not two).
 */
export function drawable(text: string): DrawableText {
  const body = mainFont();
  const extra = fallbackFont()?.font;
  const runs: TextRun[] = [];
  let replaced = false;
  let measure = '';
  const push = (char: string, inFallback: boolean) => {
    const last = runs.at(-1);
    if (last && last.fallback === inFallback) last.text += char;
    else runs.push({ text: char, fallback: inFallback });
    measure += inFallback ? 'W' : char;
  };
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    // Variation selectors and joiners are invisible parts of an emoji already replaced.
    if (code === 0xfe0f || code === 0x200d) {
      replaced = true;
      continue;
    }
    if (code < 0x20 || body.hasGlyphForCodePoint(code)) push(char, false);
    else if (extra?.hasGlyphForCodePoint(code)) push(char, true);
    else {
      push(PLACEHOLDER, false);
      replaced = true;
    }
  }
  return { runs, text: runs.map((run) => run.text).join(''), measure, replaced };
}

/** The first `count` characters of `text`, then an ellipsis. */
export function truncated(text: DrawableText, count: number): DrawableText {
  const runs: TextRun[] = [];
  let left = count;
  for (const run of text.runs) {
    if (left <= 0) break;
    const chars = Array.from(run.text).slice(0, left);
    left -= chars.length;
    runs.push({ text: chars.join(''), fallback: run.fallback });
  }
  runs.push({ text: '…', fallback: false });
  const measure = `${Array.from(text.measure).slice(0, count).join('')}…`;
  return { runs, text: runs.map((run) => run.text).join(''), measure, replaced: text.replaced };
}
