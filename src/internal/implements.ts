/**
 * `Implements<C, I>` is `C`, and a compile-time error unless `C` has every member of `I`: the
 * check of an `implements I` clause, for the public classes that fill the runtime's internal
 * contracts. A clause would name the internal interface in the published declarations, where
 * `stripInternal` has removed the members it requires (or the interface itself), so a
 * consumer's `tsc` without `skipLibCheck` would report errors in our `.d.ts` files.
 */
export type Implements<C extends I, I> = C;
