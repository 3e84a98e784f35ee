/**
 * Task metadata: a small JSON object of string values that travels with a task result
 * across threads, processes and database rows, for integrations that need context on the
 * other side (an OpenTelemetry trace context, a tenant, a request id). It is set when the
 * task is enqueued, by the `metadata` hooks of `addTaskInstrumentation`, and read as
 * `result.metadata`.
 */
import { InvalidTaskMetadata, TaskMetadataTooLarge } from './exceptions.ts';

/** A task result's metadata: string keys to string values. */
export type TaskMetadata = Readonly<Record<string, string>>;

/** The largest metadata allowed, in bytes of UTF-8 JSON (a W3C trace context takes about 100). */
export const TASK_METADATA_MAX_BYTES = 4096;

/** The metadata of a result that has none. */
export const NO_METADATA: TaskMetadata = Object.freeze({});

/**
 * Return `metadata` checked and frozen: throw `InvalidTaskMetadata` naming the key of a
 * value that is not a string, `TaskMetadataTooLarge` when it is too large.
 */
export function checkTaskMetadata(metadata: unknown): TaskMetadata {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidTaskMetadata(
      '',
      `Task metadata must be an object of string values (got ${Array.isArray(metadata) ? 'an array' : String(metadata)}).`,
    );
  }
  const entries = Object.entries(metadata);
  if (entries.length === 0) return NO_METADATA;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') {
      throw new InvalidTaskMetadata(
        key,
        `Task metadata values must be strings: '${key}' is ${typeof value} (${String(JSON.stringify(value)).slice(0, 50)}).`,
      );
    }
  }
  const size = Buffer.byteLength(JSON.stringify(metadata));
  if (size > TASK_METADATA_MAX_BYTES) throw new TaskMetadataTooLarge(size, TASK_METADATA_MAX_BYTES);
  return Object.freeze({ ...(metadata as Record<string, string>) });
}
