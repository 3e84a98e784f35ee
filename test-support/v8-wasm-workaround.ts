/**
 * Node flags for the vitest processes of projects that run `ThreadPoolBackend` threads.
 *
 * Node 24.21 (V8 13.6) crashed a test process with SIGSEGV about once in 20–40 runs of the
 * thread-pool conformance suite: a worker thread tiering up a wasm-to-JS wrapper freed dead
 * WebAssembly code of a module whose thread had just exited
 * (`Runtime_TierUpWasmToJSWrapper` → `WasmEngine::FreeDeadCode` → `NativeModule::FreeCode`,
 * read from a core dump). The WebAssembly is Node's own (its type stripping of the `.ts` files
 * each thread loads runs in WebAssembly). A wrapper that never tiers up never takes that path, so
 * the test processes raise the tier-up budget out of reach. See packages/backend-local's
 * README (Limits) for what users can do.
 */
export const V8_WASM_WORKAROUND = ['--wasm-wrapper-tiering-budget=1000000000'];
