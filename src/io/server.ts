/**
 * `Server`: a listening TCP or Unix-domain socket (plain or TLS) whose connections each run a
 * handler task, with asyncio's (3.13) lifecycle.
 *
 * - `close()` stops listening; connections already accepted go on (asyncio). `closeClients()`
 *   closes them gracefully, `abortClients()` at once (asyncio 3.13).
 * - `waitClosed()` returns once the server is closed *and* every connection has ended, in
 *   either order (asyncio ≥ 3.12.1).
 * - `serveForever()` waits until cancelled, then closes and waits as above.
 * - A handler task that fails is reported to the loop's exception handler ("Unhandled exception
 *   in client_connected_cb") and its connection is closed; a cancelled handler's connection is
 *   closed too (asyncio 3.12). A handler that returns leaves its connection open.
 *
 * Where it listens is its {@link ServerEndpoint}: a TCP host and port ({@link tcpEndpoint}), or
 * a Unix socket file (`UnixSocketFile`), which also prepares and cleans up the file system.
 *
 * @module
 */
import type { AddressInfo, ListenOptions, Server as NetServer, Socket } from "node:net";
import { inspect } from "node:util";
import { RuntimeError } from "../exceptions.ts";
import type { Future } from "../futures/future.ts";
import type { Task } from "../futures/task.ts";
import type { Implements } from "../internal/implements.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { getRunningLoop } from "../loop/running.ts";
import type { IoResource, LoopIo } from "./loop-io.ts";
import { StreamReader } from "./stream-reader.ts";
import { type ExtraInfo, StreamWriter } from "./stream-writer.ts";
import { showSocketPath } from "./unix-socket-file.ts";
import { adoptConnection, WiredSocket } from "./wire.ts";

/** The function a server runs, as a task, for each connection. */
export type ClientConnectedCallback = (
  reader: StreamReader,
  writer: StreamWriter,
) => void | PromiseLike<void>;

/**
 * Where a Server listens, and what listening there involves beyond `netServer.listen()`.
 * `Address` is what `server.sockets` lists. @internal
 */
export interface ServerEndpoint<Address> {
  /** The `listen()` options (without the backlog); called before listening; may throw. */
  listenOptions(): ListenOptions;
  /**
   * The server listens: completes the set-up and returns its address. If it throws, the server
   * stops listening and `startServing()` throws that error.
   */
  bound(netServer: NetServer): Address;
  /** The server stops listening (called once, after `bound`, before `netServer.close()`). */
  unbound(): void;
  /** `netServer.listen()` failed with `error`: the error to report. */
  listenError(error: unknown): unknown;
  /** `getExtraInfo` entries of every accepted connection (copied for each). */
  readonly acceptedExtra: Readonly<Partial<ExtraInfo>>;
}

/** A TCP server's endpoint: `host` (every interface if undefined) and `port` (0: any free one). @internal */
export function tcpEndpoint(host: string | undefined, port: number): ServerEndpoint<AddressInfo> {
  return {
    listenOptions: () => ({ host, port }),
    bound: (netServer) => netServer.address() as AddressInfo,
    unbound() {},
    listenError: (error) => error,
    acceptedExtra: {},
  };
}

/** How a Server was set up. @internal */
export interface ServerSetup<Address> {
  loop: EventLoop;
  io: LoopIo;
  netServer: NetServer;
  callback: ClientConnectedCallback;
  limit: number;
  endpoint: ServerEndpoint<Address>;
  backlog: number | undefined;
  tls: object | null;
  noDelay: boolean;
}

type ServerState = "idle" | "serving" | "closed";

/**
 * A server started by {@link startServer} or {@link startUnixServer}: asyncio's `Server`.
 * Dispose of it with `await using server = await startServer(…)` (closes it and waits for its
 * connections to end), or call `close()` and `await waitClosed()`.
 *
 * `Address` is what {@link Server.sockets} lists, which is what Node's `server.address()`
 * reports: an `AddressInfo` for TCP (`Server`, the default, so `server.sockets[0].port` types
 * as a number), the socket's path for a Unix server (`Server<string>`). A function that takes
 * either kind declares `Server<AddressInfo | string>`.
 *
 * **Cancellation:** cancelling `serveForever()` closes the server and waits for its connections
 * to end, then rethrows; cancelling `waitClosed()` only stops that wait.
 *
 * **Differences from asyncio:** `sockets` lists addresses (Node `AddressInfo` objects
 * `{ address, family, port }`, or paths) instead of socket objects; one host per server.
 *
 * @example
 * ```ts
 * import { run, startServer, openConnection } from "asyncio-ts";
 * await run(async () => {
 *   await using server = await startServer(async (reader, writer) => {
 *     for await (const line of reader) writer.write(line.toString().toUpperCase());
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
 *   writer.write("hello\n");
 *   writer.writeEof();
 *   console.log((await reader.read()).toString().trim()); // "HELLO"
 *   writer.close();
 * });
 * ```
 */
export class Server<Address extends AddressInfo | string = AddressInfo> {
  readonly #setup: ServerSetup<Address>;
  #state: ServerState = "idle";
  #address: Address | null = null;
  readonly #clients = new Set<WiredSocket>();
  /** Waiters of `waitClosed()`; `null` once the server is closed and every client gone. */
  #waiters: Future<void>[] | null = [];
  #servingForever: Future<void> | null = null;
  /** While a `startServing()` waits for the listen: the other calls waiting for it to end. */
  #starting: Future<void>[] | null = null;

  /** @internal Use {@link startServer} or {@link startUnixServer}. */
  constructor(setup: ServerSetup<Address>) {
    this.#setup = setup;
    const server = setup.netServer;
    server.on(setup.tls === null ? "connection" : "secureConnection", this.#onConnection);
    if (setup.tls !== null) {
      // A client whose handshake failed or timed out never reaches the handler. Node leaves the
      // socket open after a handshake timeout when nobody listens to "tlsClientError", so the
      // server closes it, as asyncio's SSLProtocol aborts the transport. Not reported: asyncio
      // only logs such errors (OSErrors) in debug mode.
      server.on("tlsClientError", (_error: Error, socket: Socket) => socket.destroy());
    }
    server.on("error", (error: Error) => {
      if (this.#state !== "serving") return; // listen() errors are reported by startServing()
      setup.loop.callExceptionHandler({ message: "Server error", exception: error, server: this });
    });
    setup.io.track(this);
  }

  /** The loop this server runs on. */
  getLoop(): EventLoop {
    return this.#setup.loop;
  }

  /** Whether the server accepts connections. */
  isServing(): boolean {
    return this.#state === "serving";
  }

  /**
   * The addresses it listens on (empty before it serves and once closed): `{ address, family,
   * port }` for TCP, the socket's path for a Unix server.
   */
  get sockets(): readonly Address[] {
    return this.#state === "serving" && this.#address !== null ? [this.#address] : [];
  }

  /**
   * Starts accepting connections (done by `startServer` unless `startServing: false`).
   * Idempotent. @throws {RuntimeError} once closed; the listen error (e.g. `EADDRINUSE`).
   */
  async startServing(): Promise<void> {
    const loop = this.#setup.loop;
    // A call made while another one waits for the listen (`startServing()` not awaited, then
    // `serveForever()`) waits for that one and looks again: a second `listen()` would fail
    // with ERR_SERVER_ALREADY_LISTEN (asyncio's `_start_serving` is synchronous: no window).
    for (;;) {
      if (this.#state === "closed") throw new RuntimeError(`${this} is closed`);
      if (this.#state === "serving") return;
      if (this.#starting === null) break;
      const turn = loop.createFuture<void>();
      this.#starting.push(turn);
      await turn;
    }
    this.#starting = [];
    try {
      await this.#listen();
    } finally {
      const waiting = this.#starting;
      this.#starting = null;
      for (const w of waiting) if (!w.done()) w.setResult(undefined);
    }
  }

  /** Listens, for {@link startServing}: the server is serving once it returns. */
  async #listen(): Promise<void> {
    const { netServer, endpoint, backlog, loop } = this.#setup;
    const where = endpoint.listenOptions();
    const listening = loop.createFuture<void>();
    const onListening = () => {
      if (!listening.done()) listening.setResult(undefined);
    };
    const onError = (error: Error) => {
      if (!listening.done()) listening.setException(error);
    };
    netServer.once("listening", onListening);
    netServer.once("error", onError);
    netServer.listen({ ...where, backlog });
    try {
      await listening;
    } catch (error) {
      netServer.close();
      throw endpoint.listenError(error);
    } finally {
      netServer.off("listening", onListening);
      netServer.off("error", onError);
    }
    if ((this.#state as ServerState) === "closed") {
      netServer.close();
      throw new RuntimeError(`${this} was closed while starting`);
    }
    try {
      this.#address = endpoint.bound(netServer);
    } catch (error) {
      netServer.close();
      throw error;
    }
    this.#state = "serving";
  }

  /**
   * Serves until cancelled; then closes the server and waits for its connections to end, and
   * rethrows the cancellation. @throws {RuntimeError} if already serving forever, or closed, or
   * outside a running loop.
   */
  async serveForever(): Promise<void> {
    if (this.#servingForever !== null) {
      throw new RuntimeError(`server ${this} is already being awaited on serveForever()`);
    }
    if (this.#state === "closed") throw new RuntimeError(`server ${this} is closed`);
    getRunningLoop(); // waiting needs a running loop (a Runner's loop between runs is not one)
    const forever = this.#setup.loop.createFuture<void>();
    this.#servingForever = forever;
    try {
      await this.startServing();
      await forever;
    } catch (error) {
      try {
        this.close();
        await this.waitClosed();
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: rethrowing the cancellation, as asyncio
        throw error;
      }
    } finally {
      if (this.#servingForever === forever) this.#servingForever = null;
    }
  }

  /**
   * Stops listening. Connections already accepted go on until they end (see
   * {@link closeClients}). Idempotent.
   */
  close(): void {
    if (this.#state === "closed") return;
    const wasServing = this.#state === "serving";
    this.#state = "closed";
    if (wasServing) {
      // As asyncio: the socket file goes before the socket closes.
      this.#setup.endpoint.unbound();
      this.#setup.netServer.close();
    }
    const forever = this.#servingForever;
    this.#servingForever = null;
    if (forever !== null && !forever.done()) forever.cancel();
    if (this.#clients.size === 0) this.#wakeup();
  }

  /** Closes every connection gracefully (queued data is sent first). asyncio 3.13. */
  closeClients(): void {
    for (const client of [...this.#clients]) client.writer!.close();
  }

  /** Closes every connection at once, dropping queued data. asyncio 3.13. */
  abortClients(): void {
    for (const client of [...this.#clients]) client.writer!.abort();
  }

  /**
   * Waits until the server is closed and every connection has ended.
   *
   * **Cancellation:** only this wait stops.
   *
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop.
   */
  async waitClosed(): Promise<void> {
    const waiters = this.#waiters;
    if (waiters === null) return;
    getRunningLoop();
    const waiter = this.#setup.loop.createFuture<void>();
    waiters.push(waiter);
    await waiter;
  }

  /** `await using`: closes the server and waits until it is closed (asyncio's `async with server`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  /** Loop shutdown: stop listening; leftover connections are closed by their own resource. @internal */
  _shutdown(): void {
    this.close();
    this.abortClients();
  }

  #wakeup(): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    this.#setup.io.untrack(this);
    for (const w of waiters) if (!w.done()) w.setResult(undefined);
  }

  readonly #onConnection = (accepted: Socket): void => {
    const setup = this.#setup;
    if (this.#state !== "serving" || setup.loop.isClosed()) {
      accepted.destroy();
      return;
    }
    const reader = new StreamReader({ limit: setup.limit });
    // Plain TCP reads through `onread`, as openConnection's sockets do; a TLS socket cannot.
    let socket = accepted;
    let feedsItself = false;
    if (setup.tls === null) {
      const adopted = adoptConnection(accepted, reader);
      if (adopted === null) accepted.resume();
      else {
        socket = adopted;
        feedsItself = true;
        reader.setTransport(socket);
      }
    }
    if (setup.noDelay) socket.setNoDelay(true);
    const extra: Partial<ExtraInfo> = { ...setup.endpoint.acceptedExtra };
    if (setup.tls !== null) extra.sslcontext = setup.tls;
    const writer = new StreamWriter(socket, reader, extra);
    writer._markServerSide();
    let wired: WiredSocket;
    try {
      wired = new WiredSocket(
        socket,
        reader,
        writer,
        setup.io,
        () => this.#detach(wired),
        feedsItself,
      );
    } catch {
      // The loop is shutting down: refuse the connection.
      socket.destroy();
      return;
    }
    this.#clients.add(wired);
    const callback = setup.callback;
    const task = setup.loop.createTask(() => callback(reader, writer));
    task._addDoneCallback((t: Future<void>) => this.#handlerDone(t as Task<void>, writer));
  };

  #handlerDone(task: Task<void>, writer: StreamWriter): void {
    if (task.cancelled()) {
      writer.close();
      return;
    }
    const error = task.exception();
    if (error !== null) {
      this.#setup.loop.callExceptionHandler({
        message: "Unhandled exception in client_connected_cb",
        exception: error,
        task,
        transport: writer.transport,
      });
      writer.close();
    }
  }

  #detach(client: WiredSocket): void {
    this.#clients.delete(client);
    if (this.#clients.size === 0 && this.#state === "closed") this.#wakeup();
  }

  toString(): string {
    const address: AddressInfo | string | null = this.#address;
    const where =
      address === null
        ? ""
        : typeof address === "string"
          ? ` ${showSocketPath(address)}`
          : ` ${address.address}:${address.port}`;
    return `<Server ${this.#state}${where} clients=${this.#clients.size}${this.#setup.tls === null ? "" : " tls"}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// The internal contracts Server fills (see Implements).
type _ServerContracts = Implements<Server, IoResource>;
