/**
 * CancelledErrors created by the runtime skip the stack capture unless the loop is in debug mode.
 * Capturing a stack costs more than the rest of a cancellation (measured: 100k cancels spent
 * 55% of their time in `Error` construction), and the stack would show the canceller's frames,
 * not the `await` where the task receives the error.
 */
import { type CancellationOrigin, CancelledError } from "../exceptions.ts";

export function makeCancelledError(
  message: string | undefined,
  origin: CancellationOrigin | undefined,
  withStack: boolean,
  cause?: unknown,
): CancelledError {
  const options = cause === undefined ? { origin } : { origin, cause };
  if (withStack) return new CancelledError(message, options);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new CancelledError(message, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
