/**
 * The entry module of the executor's worker threads (loaded by piscina, never by the main
 * thread). A job names a module by URL and one of its exports; the worker imports the module
 * (once per thread), calls the export with the job's arguments, and returns (or awaits) its
 * result.
 *
 * Errors cross back as a plain record (name, message, stack, own properties, cause, the members
 * of an AggregateError), because the structured clone of an Error keeps only the built-in names
 * and drops `code` and other fields; the main thread rebuilds the Error from it (see
 * `executors.ts`). A thrown value that is not an Error crosses marked too.
 *
 * This file must stay loadable without a TypeScript loader once built: it imports nothing.
 *
 * @module
 */

/** What the main thread sends. */
interface Job {
  url: string;
  name: string;
  args: unknown[];
}

/** Marks an error record made by {@link packError}. */
const MARK = "__asyncioTsWorkerError";

const modules = new Map<string, Promise<Record<string, unknown>>>();

function load(url: string): Promise<Record<string, unknown>> {
  let mod = modules.get(url);
  if (mod === undefined) {
    mod = import(url) as Promise<Record<string, unknown>>;
    modules.set(url, mod);
    mod.catch(() => modules.delete(url));
  }
  return mod;
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    // Not transferable to the main thread: the field is left out of the error record.
    return false;
  }
}

function packError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) {
    // A thrown non-Error crosses as itself, marked, so that the main thread can tell it from a
    // failure of the worker's own (such as a result that cannot be copied back).
    return { [MARK]: "value", value: cloneable(error) ? error : String(error) };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === "cause") continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (cloneable(value)) props[key] = value;
  }
  const record: Record<string, unknown> = {
    [MARK]: true,
    name: error.name,
    message: error.message,
    stack: error.stack,
    props,
  };
  if ("cause" in error && depth < 8) record.cause = packError(error.cause, depth + 1);
  // AggregateError (and asyncio-ts's ExceptionGroup) keep their members in `errors`.
  const members = error instanceof AggregateError ? error.errors : undefined;
  if (Array.isArray(members) && depth < 8) {
    record.errors = members.map((member) => packError(member, depth + 1));
  }
  return record;
}

/** Runs one job: `(await import(url))[name](...args)`. */
export default async function runJob(job: Job): Promise<unknown> {
  try {
    const mod = await load(job.url);
    const fn = mod[job.name];
    if (typeof fn !== "function") {
      const names = Object.keys(mod).join(", ") || "none";
      throw new TypeError(
        `${job.url} has no exported function \`${job.name}\` (its exports: ${names})`,
      );
    }
    return await (fn as (...args: unknown[]) => unknown)(...job.args);
  } catch (error) {
    throw packError(error);
  }
}
