import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskModuleImportError } from './exceptions.ts';

/**
 * Turn a `taskModules` entry into a URL string that `import()` accepts from anywhere:
 * URLs stay as they are, file paths are resolved against `baseDir` (the current directory),
 * and package names are left for Node to resolve.
 */
export function resolveTaskModule(specifier: string | URL, baseDir = process.cwd()): string {
  if (specifier instanceof URL) return specifier.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) return specifier;
  if (specifier.startsWith('.') || isAbsolute(specifier)) {
    return pathToFileURL(resolve(baseDir, specifier)).href;
  }
  return specifier;
}

/**
 * Import every task module so that the tasks they define can be found by name.
 * Return the resolved specifiers, in order.
 */
export async function loadTaskModules(modules: readonly (string | URL)[]): Promise<string[]> {
  const loaded: string[] = [];
  for (const module of modules) {
    const specifier = resolveTaskModule(module);
    try {
      await import(specifier);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TaskModuleImportError(
        specifier,
        `Could not import task module '${specifier}': ${reason}`,
        { cause: error },
      );
    }
    loaded.push(specifier);
  }
  return loaded;
}
