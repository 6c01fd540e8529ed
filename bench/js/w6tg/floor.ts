// The hand-written floor of W6 (a timer and the promise's reject per sleeper, all cancelled in
// one loop) is also the least a "cancel the whole group" can cost.
export { default } from "../w6/floor.ts";
