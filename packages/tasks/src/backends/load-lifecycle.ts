/**
 * The task runner and the lifecycle transitions, loaded on first use rather than with the
 * built-in backends: the default configuration names the Immediate backend, and defining a
 * task must not load the code that runs tasks.
 */
let loading:
  | Promise<{
      lifecycle: typeof import('../lifecycle.ts');
      transitions: typeof import('../transitions.ts');
    }>
  | undefined;

/** Load (once) and return the lifecycle modules. */
export function loadLifecycle(): NonNullable<typeof loading> {
  loading ??= Promise.all([import('../lifecycle.ts'), import('../transitions.ts')]).then(
    ([lifecycle, transitions]) => ({ lifecycle, transitions }),
  );
  return loading;
}
