// A QMP client over QEMU's unix socket: reads the greeting, negotiates capabilities, sends
// commands tagged with ids (answers are matched by id, so events interleave freely), delivers
// events to listeners, and times out every wait. One connection per operation is the intended
// use (QEMU serves one QMP client per socket at a time).
import { connect, type Socket } from "node:net";
import { PeerstackError } from "../../protocol/errors.ts";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU answered a command with an error. */
export class QmpCommandError extends PeerstackError {
  readonly command: string;
  readonly errorClass: string;
  constructor(socket: string, command: string, errorClass: string, desc: string) {
    super("QMP_COMMAND_FAILED", `QMP ${command} on ${socket}: ${errorClass}: ${desc}`);
    this.command = command;
    this.errorClass = errorClass;
  }
}

/** No answer (or event) within the timeout. */
export class QmpTimeoutError extends PeerstackError {
  constructor(socket: string, what: string, timeoutMs: number) {
    super("QMP_TIMEOUT", `QMP ${what} on ${socket}: no answer within ${timeoutMs} ms`);
  }
}

/** The socket could not be reached or closed under a pending request. */
export class QmpConnectionError extends PeerstackError {
  constructor(socket: string, message: string, options?: { cause?: unknown }) {
    super("QMP_CONNECTION_FAILED", `QMP ${socket}: ${message}`, options);
  }
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface QmpConnectOptions {
  /** How long to keep retrying connect (the socket appears ~30 ms after QEMU starts) and to wait for the greeting. Default 5 s. */
  timeoutMs?: number;
  /** Default timeout of each command. Default 10 s. */
  commandTimeoutMs?: number;
}

export class QmpClient {
  readonly path: string;
  /** QEMU's version from the greeting, e.g. "7.2.x". */
  version = "";
  private readonly sock: Socket;
  private readonly commandTimeoutMs: number;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private nextId = 1;
  private buf = "";
  private closedError: Error | undefined;
  private greeting: ((v: unknown) => void) | undefined;

  private constructor(path: string, sock: Socket, commandTimeoutMs: number) {
    this.path = path;
    this.sock = sock;
    this.commandTimeoutMs = commandTimeoutMs;
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => this.onData(chunk));
    sock.on("error", (e) => this.fail(new QmpConnectionError(path, e.message, { cause: e })));
    sock.on("close", () => this.fail(new QmpConnectionError(path, "connection closed")));
  }

  /** Connects (retrying until the socket accepts), reads the greeting and sends qmp_capabilities. */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    let sock: Socket | undefined;
    let lastErr: Error | undefined;
    while (!sock) {
      try {
        sock = await openSocket(path);
      } catch (e) {
        lastErr = e as Error;
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== "ENOENT" && code !== "ECONNREFUSED") || Date.now() >= deadline) {
          throw new QmpConnectionError(path, `cannot connect: ${lastErr.message}`, { cause: e });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const client = new QmpClient(path, sock, opts.commandTimeoutMs ?? 10_000);
    try {
      const greeting = (await client.waitGreeting(Math.max(deadline - Date.now(), 1_000))) as { QMP?: { version?: { qemu?: { major: number; minor: number; micro: number } } } };
      const v = greeting.QMP?.version?.qemu;
      if (v) client.version = `${v.major}.${v.minor}.${v.micro}`;
      await client.execute("qmp_capabilities");
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  private waitGreeting(timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new QmpTimeoutError(this.path, "greeting", timeoutMs)), timeoutMs);
      this.greeting = (v) => {
        clearTimeout(timer);
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
    });
  }

  /** Runs a QMP command; resolves with its `return` value, rejects with QmpCommandError/QmpTimeoutError/QmpConnectionError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `ps-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeoutError(this.path, command, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + "\n");
    });
  }

  /** Calls `fn` for every event; returns the unsubscribe function. */
  onEvent(fn: (e: QmpEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves with the next event named `name` (and matching `filter`); subscribe BEFORE triggering it. */
  waitEvent(name: string, opts: { timeoutMs: number; filter?: (e: QmpEvent) => boolean }): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const off = this.onEvent((e) => {
        if (e.event !== name || (opts.filter && !opts.filter(e))) return;
        done();
        resolve(e);
      });
      const timer = setTimeout(() => {
        done();
        reject(new QmpTimeoutError(this.path, `event ${name}`, opts.timeoutMs));
      }, opts.timeoutMs);
      const done = () => {
        off();
        clearTimeout(timer);
      };
    });
  }

  /** Resolves when the connection closes (e.g. after `quit`, or when QEMU exits). */
  closed(): Promise<void> {
    if (this.closedError) return Promise.resolve();
    return new Promise((resolve) => this.sock.once("close", () => resolve()));
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not QMP; ignore
    }
    if ("QMP" in msg) {
      this.greeting?.(msg);
      this.greeting = undefined;
      return;
    }
    if (typeof msg.event === "string") {
      for (const fn of [...this.listeners]) fn(msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === "string" ? msg.id : undefined;
    const p = id ? this.pending.get(id) : undefined;
    if (!p || !id) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ("error" in msg) {
      const err = msg.error as { class?: string; desc?: string };
      p.reject(new QmpCommandError(this.path, p.command, err.class ?? "GenericError", err.desc ?? "unknown error"));
    } else {
      p.resolve(msg.return);
    }
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    this.greeting?.(e);
    this.greeting = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(e);
    }
    this.sock.destroy();
  }
}

function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}
