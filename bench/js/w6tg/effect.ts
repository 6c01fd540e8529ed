// Effect's "cancel them all" for a set of fibers is Fiber.interruptAll: the W6 contender.
export { default } from "../w6/effect.ts";
