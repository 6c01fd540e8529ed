/**
 * Argument checks shared by every public entry point. One message template, after p-limit's:
 * "Expected `delay` to be a number of milliseconds, got `NaN` (number)". Each check throws
 * before any state changes, so a bad call leaves nothing half-done.
 */

/** Renders a value for an error message: its text (strings quoted) and its type. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (typeof value === "function") text = value.name ? `function ${value.name}` : "function";
  else if (typeof value === "bigint") text = `${value}n`;
  else if (typeof value === "symbol") text = value.toString();
  else if (value !== null && typeof value === "object") {
    const ctor = (value as object).constructor;
    text =
      ctor && typeof ctor.name === "string" && ctor.name ? `[object ${ctor.name}]` : "[object]";
  } else text = String(value);
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return `\`${text}\` (${type})`;
}

export function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describeValue(value)}`);
}

export function rangeError(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`Expected \`${name}\` to be ${expected}, got ${describeValue(value)}`);
}

/** A delay in ms: any number but NaN; `Infinity` means never. */
export function checkDelay(name: string, value: unknown): number {
  if (typeof value !== "number") throw typeError(name, "a number of milliseconds", value);
  if (Number.isNaN(value)) throw rangeError(name, "a number of milliseconds, not NaN", value);
  return value;
}

/** A delay in ms or `null` (no deadline). */
export function checkOptionalDelay(name: string, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return checkDelay(name, value);
}

export function checkFunction(name: string, value: unknown, hint = ""): void {
  if (typeof value !== "function") {
    throw typeError(name, `a function${hint}`, value);
  }
}

export function checkOptionalString(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "string") {
    throw typeError(name, "a string", value);
  }
}

export function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== "boolean") throw typeError(name, "a boolean", value);
}

export function checkOptions(name: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== "object")) {
    throw typeError(name, "an options object", value);
  }
}

/**
 * Refuses an option this function does not know (a misspelt `stdout`, an option of another
 * function), as Python refuses an unexpected keyword argument.
 */
export function checkKnownOptions(
  name: string,
  options: unknown,
  known: ReadonlySet<string>,
): void {
  if (options === null || typeof options !== "object") return;
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    throw new TypeError(
      `Unknown option \`${name}.${key}\`; expected some of: ${[...known].join(", ")}`,
    );
  }
}

/** Whether `value` has a `then` method (so a promise resolved with it adopts it). */
export function isThenable(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
