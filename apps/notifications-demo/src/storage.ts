/**
 * Storage for generated files, Django's `FileSystemStorage`: names are relative to
 * `settings.MEDIA_ROOT`, and a name can never reach outside it.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { settings } from './settings.ts';

export class FileSystemStorage {
  readonly location: string;

  constructor(location: string) {
    this.location = resolve(location);
  }

  /** The absolute path of `name`; throws for names that leave the storage folder. */
  path(name: string): string {
    const full = resolve(this.location, name);
    if (full !== this.location && !full.startsWith(this.location + sep)) {
      throw new Error(`The file name '${name}' is outside the storage folder`);
    }
    return full;
  }

  /** Write `content` to `name` atomically (temporary file, then rename); return the name. */
  async save(name: string, content: Buffer): Promise<string> {
    const full = this.path(name);
    await mkdir(dirname(full), { recursive: true });
    const temporary = `${full}.${process.pid}.tmp`;
    await writeFile(temporary, content);
    await rename(temporary, full);
    return relative(this.location, full).split(sep).join('/');
  }

  /** Whether `name` exists. */
  async exists(name: string): Promise<boolean> {
    try {
      return (await stat(this.path(name))).isFile();
    } catch {
      return false;
    }
  }

  /** Open `name` for reading. */
  open(name: string): ReadStream {
    return createReadStream(this.path(name));
  }
}

/** Where generated reports go: `<MEDIA_ROOT>/reports/report_<id>.pdf`. */
export const defaultStorage = new FileSystemStorage(settings.MEDIA_ROOT);

/** The storage name of report `id`'s PDF. */
export function reportFileName(id: number): string {
  return join('reports', `report_${id}.pdf`);
}
