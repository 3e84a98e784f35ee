/**
 * The task runner and the lifecycle transitions, loaded on first use rather than with the
 * built-in backends: the default configuration names the Immediate backend, and defining a
 * task must not load the code that runs tasks.
 */
interface Lifecycle {
  lifecycle: typeof import('../lifecycle.ts');
  transitions: typeof import('../transitions.ts');
}

let loading: Promise<Lifecycle> | undefined;
let loaded: Lifecycle | undefined;

/** Load (once) and return the lifecycle modules. */
export function loadLifecycle(): Promise<Lifecycle> {
  loading ??= Promise.all([import('../lifecycle.ts'), import('../transitions.ts')]).then(
    ([lifecycle, transitions]) => (loaded = { lifecycle, transitions }),
  );
  return loading;
}

/** The lifecycle modules if {@link loadLifecycle} has loaded them, for synchronous use. */
export function loadedLifecycle(): Lifecycle | undefined {
  return loaded;
}
