/**
 * auth.ts — HTTP Basic authentication (RFC 7617) against bcrypt hashes, in
 * two roles: readers and writers.
 *
 * Users come from htpasswd lines (`user:HASH`, as Apache's `htpasswd -B`
 * writes them), from a file or the command line, with an optional third
 * field `:rw` that makes the user a writer. Only bcrypt (`$2y$`, `$2b$`,
 * `$2a$`) is accepted, checked with the maintained `bcryptjs` package; the
 * other htpasswd schemes (apr1 MD5, {SHA}, crypt, plain text) are weak or
 * unsalted, and are refused at start with a line that names the user.
 *
 * bcrypt is slow on purpose (~90 ms per check at cost 10 in pure JS), and
 * bcryptjs's async compare yields only every 100 ms, so one check would
 * stall every other client that long: checks run in a worker isolate
 * ({@linkcode WorkerBcrypt}). A verified credential is remembered for
 * {@linkcode VERIFIED_TTL_MS}, keyed by user (so one entry per configured
 * user at most), as an HMAC-SHA-256 of the `user:password` bytes under a
 * per-process random key (never the password), compared in constant time.
 * A logged-in browser then pays a few microseconds per request, and the
 * static fast path can answer it without a Request. An unknown user costs
 * one bcrypt check against a dummy hash all the same, so timing does not
 * tell which user names exist.
 *
 * Failed sign-ins are counted per client address ({@linkcode FailureLimiter}):
 * past {@linkcode MAX_FAILURES} in {@linkcode FAILURE_WINDOW_MS}, the address
 * gets 429 with `Retry-After` until its window ends.
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import bcrypt from "bcryptjs";
import { basicCredentials } from "./http/basic_credentials.ts";
import { HttpError } from "./http/http_error.ts";
import { type AuthUser, checkUnique, type Role } from "./htpasswd.ts";

export type { AuthUser, Role } from "./htpasswd.ts";

/** Principal is who a request was authenticated as. */
export interface Principal {
  user: string;
  role: Role;
}

/** REALM is the protection space of every challenge (RFC 7617 §2). */
export const REALM = "minserve";
/** CHALLENGE is the `WWW-Authenticate` value of every 401; UTF-8 is the only charset RFC 7617 §2.1 allows. */
export const CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;
/** MAX_FAILURES is how many failed sign-ins one client address may make per window; past it, 429. */
export const MAX_FAILURES = 10;
/** FAILURE_WINDOW_MS is the window those failures are counted in, from the first one. */
export const FAILURE_WINDOW_MS = 60_000;
/**
 * MAX_TRACKED_CLIENTS bounds the table of addresses with failures (about
 * 100 bytes each, so 1 MB at most); when full, windows that have ended are
 * forgotten first, then the oldest.
 */
export const MAX_TRACKED_CLIENTS = 10_000;
/** VERIFIED_TTL_MS is how long a verified credential is taken without bcrypt again. */
export const VERIFIED_TTL_MS = 10 * 60_000;
/** MAX_PASSWORD_BYTES: bcrypt reads only the first 72 bytes of a password; longer ones are refused. */
export const MAX_PASSWORD_BYTES = 72;

/** Credential is what a Basic `Authorization` value carries, with its keyed digest. */
export interface Credential {
  user: string;
  password: string;
  /** HMAC-SHA-256 of the `user:password` bytes under the process's key. */
  digest: Uint8Array;
}

/** VerifiedEntry is a credential bcrypt accepted, remembered by user. */
interface VerifiedEntry {
  digest: Uint8Array;
  role: Role;
  expires: number;
}

/** BcryptChecker compares a password with a bcrypt hash, somewhere. */
export interface BcryptChecker {
  /** compare resolves to whether `password` matches the bcrypt `hash`; a malformed hash is a mismatch. */
  compare(password: string, hash: string): Promise<boolean>;
}

/** inProcess checks on the calling thread, with bcryptjs's async compare (tests count its calls). */
const inProcess: BcryptChecker = { compare: (password, hash) => bcrypt.compare(password, hash) };

/** AuthOptions configure an {@linkcode Auth}. */
export interface AuthOptions {
  /** Where bcrypt runs: on this thread unless given (the server passes a {@linkcode WorkerBcrypt}). */
  checker?: BcryptChecker;
  /** Whether an upload may present the --upload-token instead of a writer's credentials. */
  bearerUploads?: boolean;
  /** The clock, in ms; tests move it. */
  now?: () => number;
}

/**
 * Auth checks the credentials of requests against a fixed set of users.
 * One per instance; it holds the verified-credential cache, the failure
 * limiter and the role each authenticated Request was given.
 */
export class Auth {
  #users: Map<string, AuthUser>;
  #key = randomBytes(32);
  #verified = new Map<string, VerifiedEntry>();
  #pending = new Map<string, Promise<Role | null>>();
  #principals = new WeakMap<Request, Principal>();
  #dummy: Promise<string>;
  #now: () => number;
  #checker: BcryptChecker;
  /** The failed sign-ins per client address. */
  readonly limiter: FailureLimiter;
  /** Whether an upload may present the --upload-token instead (the uploads handler checks it). */
  readonly bearerUploads: boolean;

  /** Takes `users` (at least one, names unique). */
  constructor(users: readonly AuthUser[], options: AuthOptions = {}) {
    if (users.length === 0) throw new TypeError("Cannot use auth: no users");
    checkUnique(users);
    this.#users = new Map(users.map((u) => [u.user, u]));
    this.#now = options.now ?? Date.now;
    this.#checker = options.checker ?? inProcess;
    this.limiter = new FailureLimiter({ now: this.#now });
    this.bearerUploads = options.bearerUploads ?? false;
    // Same cost as the first user's hash, so an unknown name takes as long as a known one.
    const cost = bcrypt.getRounds(users[0]!.hash);
    this.#dummy = bcrypt.genSalt(cost).then((salt) =>
      bcrypt.hash(randomBytes(16).toString("hex"), salt)
    );
  }

  /**
   * credentialOf reads a Basic `Authorization` value (a byte string, as
   * header values are): base64 of UTF-8 `user:password`. Null when absent or
   * malformed.
   */
  credentialOf(value: string | null): Credential | null {
    const credentials = basicCredentials(value);
    if (credentials === null) return null;
    const { user, password } = credentials;
    const digest = createHmac("sha256", this.#key).update(`${user}:${password}`, "utf8").digest();
    return { user, password, digest };
  }

  /**
   * verifiedRole is the role of `credential` when it was verified within
   * {@linkcode VERIFIED_TTL_MS}, without bcrypt: the synchronous check the
   * fast path uses. The digests are compared in constant time.
   */
  verifiedRole(credential: Credential): Role | undefined {
    const entry = this.#verified.get(credential.user);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.#now()) {
      this.#verified.delete(credential.user);
      return undefined;
    }
    return timingSafeEqual(entry.digest, credential.digest) ? entry.role : undefined;
  }

  /**
   * allowsFast tells whether a request with this `Authorization` value may
   * be answered by the fast path, which does not know the client's address:
   * only a credential verified before, and only while no address is locked
   * out (else a locked-out client could test guesses against the cache).
   */
  allowsFast(credential: Credential | null): boolean {
    return credential !== null && !this.limiter.anyBlocked() &&
      this.verifiedRole(credential) !== undefined;
  }

  /**
   * authenticate checks the request's Basic credentials and returns who it
   * is, remembering it for {@linkcode principalOf}. Throws HttpError 429
   * (with Retry-After) when the client at `hostname` has failed too often
   * (counted by {@linkcode clientKey}), 401 (with the challenge) when
   * credentials are missing or wrong.
   */
  async authenticate(request: Request, hostname: string): Promise<Principal> {
    const address = clientKey(hostname);
    this.assertNotBlocked(hostname);
    const header = request.headers.get("authorization");
    const credential = this.credentialOf(header);
    // No credentials at all is how every browser starts: answered, not counted.
    if (header === null) throw unauthorized();
    let role = credential === null ? undefined : this.verifiedRole(credential);
    if (role === undefined) {
      if (credential === null) {
        this.limiter.fail(address); // malformed: a failure, without bcrypt
        throw unauthorized();
      }
      const checked = await this.#check(credential, address);
      if (checked === null) throw unauthorized();
      role = checked;
    }
    const principal = { user: credential!.user, role };
    this.#principals.set(request, principal);
    return principal;
  }

  /** assertNotBlocked throws the 429 (with Retry-After) when the client at `hostname` is locked out. */
  assertNotBlocked(hostname: string): void {
    const retryAfter = this.limiter.retryAfter(clientKey(hostname));
    if (retryAfter > 0) {
      throw new HttpError(429, "Too many failed sign-ins: try again later", {
        headers: { "retry-after": String(retryAfter) },
      });
    }
  }

  /**
   * guardToken runs `handle`, the uploads handler checking an --upload-token
   * in place of a user: a client locked out gets 429 first, and a 401 from
   * the token check counts as a failed sign-in.
   */
  async guardToken(hostname: string, handle: () => Promise<Response>): Promise<Response> {
    this.assertNotBlocked(hostname);
    try {
      return await handle();
    } catch (err) {
      // Not counted while under way, as bcrypt checks are: comparing a token
      // costs nothing, and an upload may stream for minutes.
      if (err instanceof HttpError && err.status === 401) this.limiter.fail(clientKey(hostname));
      throw err;
    }
  }

  /** principalOf is who `request` was authenticated as, if it was. */
  principalOf(request: Request): Principal | undefined {
    return this.#principals.get(request);
  }

  /**
   * One bcrypt check per credential at a time: a browser's parallel first
   * requests share it, and it counts once, for the `address` that started
   * it (under way, then as a failure if it fails).
   */
  #check(credential: Credential, address: string): Promise<Role | null> {
    const key = String.fromCharCode(...credential.digest);
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      this.limiter.begin(address);
      pending = this.#bcrypt(credential).then(
        (role) => {
          this.limiter.end(address, role !== null);
          return role;
        },
        (err) => {
          this.limiter.end(address, false);
          throw err;
        },
      ).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #bcrypt(credential: Credential): Promise<Role | null> {
    const user = this.#users.get(credential.user);
    // An unknown user is checked against the dummy: the same work, always false.
    const hash = user?.hash ?? await this.#dummy;
    const tooLong = new TextEncoder().encode(credential.password).length > MAX_PASSWORD_BYTES;
    const ok = await this.#checker.compare(credential.password, hash);
    if (!ok || tooLong || user === undefined) return null;
    this.#verified.set(credential.user, {
      digest: credential.digest,
      role: user.role,
      expires: this.#now() + VERIFIED_TTL_MS,
    });
    return user.role;
  }
}

function unauthorized(): HttpError {
  return new HttpError(401, "Sign-in required", { headers: { "www-authenticate": CHALLENGE } });
}

/** FailureWindow is one address's failures: since when, how many, and how many checks are under way. */
interface FailureWindow {
  start: number;
  failures: number;
  pending: number;
}

/**
 * FailureLimiter counts failed sign-ins per client address in a fixed window
 * that starts at the first failure. Checks under way count too, so a client
 * cannot start many bcrypt checks at once before its failures are known.
 */
export class FailureLimiter {
  #windows = new Map<string, FailureWindow>();
  #now: () => number;
  #maxClients: number;
  /** When the last lock-out ends (ms); 0 when there was none. */
  #blockedUntil = 0;

  /** `maxClients` bounds the table (default {@linkcode MAX_TRACKED_CLIENTS}). */
  constructor(options: { now?: () => number; maxClients?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxClients = options.maxClients ?? MAX_TRACKED_CLIENTS;
  }

  /** The number of addresses remembered. */
  get size(): number {
    return this.#windows.size;
  }

  /** retryAfter is 0 when `address` may try, else the seconds until its window ends. */
  retryAfter(address: string): number {
    const window = this.#current(address);
    if (window === undefined || window.failures + window.pending < MAX_FAILURES) return 0;
    return Math.max(1, Math.ceil((window.start + FAILURE_WINDOW_MS - this.#now()) / 1000));
  }

  /** anyBlocked tells whether some address may be locked out now (cheap: one comparison). */
  anyBlocked(): boolean {
    return this.#blockedUntil > this.#now();
  }

  /** begin notes a check under way for `address`. */
  begin(address: string): void {
    const window = this.#current(address) ?? this.#open(address);
    window.pending++;
    this.#noteBlock(window);
  }

  /** fail notes a failed attempt of `address` that was not begun (a wrong token). */
  fail(address: string): void {
    const window = this.#current(address) ?? this.#open(address);
    window.failures++;
    this.#noteBlock(window);
  }

  /** end notes that the check begun for `address` succeeded or failed. */
  end(address: string, ok: boolean): void {
    const window = this.#windows.get(address);
    if (window !== undefined) window.pending = Math.max(0, window.pending - 1);
    if (!ok) this.fail(address);
  }

  #noteBlock(window: FailureWindow) {
    if (window.failures + window.pending >= MAX_FAILURES) {
      this.#blockedUntil = Math.max(this.#blockedUntil, window.start + FAILURE_WINDOW_MS);
    }
  }

  /** The window of `address` if it has not ended (an ended one is forgotten). */
  #current(address: string): FailureWindow | undefined {
    const window = this.#windows.get(address);
    if (window === undefined) return undefined;
    if (window.start + FAILURE_WINDOW_MS > this.#now() || window.pending > 0) return window;
    this.#windows.delete(address);
    return undefined;
  }

  #open(address: string): FailureWindow {
    if (this.#windows.size >= this.#maxClients) this.#evict();
    const window = { start: this.#now(), failures: 0, pending: 0 };
    this.#windows.set(address, window);
    return window;
  }

  /** Forgets ended windows; if none had ended, the oldest one. */
  #evict() {
    const now = this.#now();
    for (const [address, window] of this.#windows) {
      if (window.start + FAILURE_WINDOW_MS <= now && window.pending === 0) {
        this.#windows.delete(address);
      }
    }
    if (this.#windows.size >= this.#maxClients) {
      const oldest = this.#windows.keys().next();
      if (!oldest.done) this.#windows.delete(oldest.value);
    }
  }
}

/**
 * clientKey is the address failures are counted under: an IPv4 address as
 * it is, an IPv6 address by its /64 prefix (one host usually holds a whole
 * /64, so counting single addresses would not limit it).
 */
export function clientKey(hostname: string): string {
  if (!hostname.includes(":")) return hostname;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(hostname)) return hostname.slice(7);
  const [head = "", tail] = hostname.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined
    ? left
    : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")).join(":") +
    "::/64";
}

/**
 * hashPassword resolves to the `$2b$` bcrypt hash of `password` at `cost`
 * (4 to 31). Rejects with a RangeError when the password is empty or longer
 * than {@linkcode MAX_PASSWORD_BYTES} (bcrypt would ignore the rest), and
 * with what bcryptjs throws for a cost out of range.
 */
export async function hashPassword(password: string, cost: number): Promise<string> {
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    throw new RangeError(
      `Cannot hash the password: it is longer than ${MAX_PASSWORD_BYTES} bytes, all bcrypt reads`,
    );
  }
  if (password === "") throw new RangeError("Cannot hash the password: it is empty");
  return await bcrypt.hash(password, await bcrypt.genSalt(cost));
}

/**
 * BCRYPT_MODULE is bcryptjs as the worker imports it: a blob module has no
 * import map, so the version is written here too (a test keeps it equal to
 * deno.json's).
 */
export const BCRYPT_MODULE = "npm:bcryptjs@3.0.3";
/** BCRYPT_IDLE_MS: a bcrypt worker with nothing to do for this long is stopped, freeing its memory. */
export const BCRYPT_IDLE_MS = 30_000;

/**
 * The worker's module, run from a blob URL as the compressor's is: a worker
 * loaded from a file would need read permission for minserve's own source.
 */
const BCRYPT_WORKER_SOURCE = `import bcrypt from "${BCRYPT_MODULE}";
self.onmessage = (event) => {
  const { id, password, hash } = event.data;
  let ok = false;
  try {
    ok = bcrypt.compareSync(password, hash);
  } catch {
    // A hash bcrypt cannot read matches nothing.
  }
  self.postMessage({ id, ok });
};`;

/**
 * WorkerBcrypt runs bcrypt checks in one worker isolate, one at a time in
 * order of arrival, so the event loop never waits for them. The worker is
 * started on first use and stopped after {@linkcode BCRYPT_IDLE_MS}. If it
 * cannot start or fails, checks run on this thread instead (slower for the
 * other clients, never wrong).
 */
export class WorkerBcrypt implements BcryptChecker {
  #worker: Worker | undefined;
  #failed = false;
  #nextId = 1;
  #pending = new Map<number, { password: string; hash: string; resolve(ok: boolean): void }>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** compare checks `password` against `hash` in the worker (started on first use); see BcryptChecker. */
  compare(password: string, hash: string): Promise<boolean> {
    const worker = this.#start();
    if (worker === undefined) return inProcess.compare(password, hash);
    clearTimeout(this.#idleTimer);
    const id = this.#nextId++;
    return new Promise<boolean>((resolve) => {
      this.#pending.set(id, { password, hash, resolve });
      worker.postMessage({ id, password, hash });
    });
  }

  /** close stops the worker; later checks run on this thread. */
  close(): void {
    this.#failed = true;
    this.#stop();
  }

  #start(): Worker | undefined {
    if (this.#worker !== undefined || this.#failed) return this.#worker;
    let worker: Worker;
    try {
      const url = URL.createObjectURL(
        new Blob([BCRYPT_WORKER_SOURCE], { type: "text/javascript" }),
      );
      worker = new Worker(url, { type: "module" });
      URL.revokeObjectURL(url);
    } catch {
      this.#failed = true;
      return undefined;
    }
    worker.onmessage = (event: MessageEvent<{ id: number; ok: boolean }>) => {
      const job = this.#pending.get(event.data.id);
      this.#pending.delete(event.data.id);
      job?.resolve(event.data.ok === true);
      if (this.#pending.size === 0) this.#idleLater();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#failed = true;
      this.#stop();
    };
    this.#worker = worker;
    return worker;
  }

  #idleLater() {
    clearTimeout(this.#idleTimer);
    const timer = setTimeout(() => this.#stop(), BCRYPT_IDLE_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#idleTimer = timer;
  }

  /** Stops the worker; checks it had not answered are done on this thread. */
  #stop() {
    clearTimeout(this.#idleTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    const left = [...this.#pending.values()];
    this.#pending.clear();
    for (const job of left) inProcess.compare(job.password, job.hash).then(job.resolve);
  }
}
