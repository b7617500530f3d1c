/**
 * The socket level of the pool: dialling upstream connections, their state kept on the socket under
 * symbols, and running an HTTP/1.1 exchange on an already connected socket.
 *
 * Every listener is a module function that reads its owner from the socket: a connection installs
 * the same five functions and a request installs none, so neither allocates closures.
 */
import http from 'node:http';
import net from 'node:net';
import type { StreamFailure, UpstreamRequest } from './types.ts';
import type { HostState } from './host.ts';
import { connectFailure } from './failures.ts';

export type TcpCallback = (err: StreamFailure | undefined, socket?: net.Socket) => void;

export const kHost = Symbol('skiff.upstream.host');
export const kOwner = Symbol('skiff.upstream.owner');
export const kState = Symbol('skiff.upstream.state');
export const kUses = Symbol('skiff.upstream.uses');
export const kIdleSince = Symbol('skiff.upstream.idleSince');
export const kTcpCb = Symbol('skiff.upstream.tcpCb');

/** Socket states. HTTP: connecting → idle/busy (repeatedly) → closed. TCP: connecting → handed over → closed. */
export const CONNECTING = 0;
export const BUSY = 1;
export const IDLE = 2;
export const CLOSED = 3;
export const TCP_CONNECTING = 4;
export const TCP = 5;

/** What the pool reacts to; the socket listeners call these. */
export interface SocketOwner {
  connected(s: PooledSocket): void;
  connectTimedOut(s: PooledSocket): void;
  connectFailed(s: PooledSocket, failure: StreamFailure): void;
  streamDone(s: PooledSocket): void;
  socketClosed(s: PooledSocket): void;
  bindAddress(host: HostState): string | undefined;
}

export interface PooledSocket extends net.Socket {
  [kHost]: HostState;
  [kOwner]: SocketOwner;
  [kState]: number;
  /** Requests started on this connection (maxRequestsPerConnection). */
  [kUses]: number;
  [kIdleSince]: number;
  [kTcpCb]: TcpCallback | undefined;
}

function onSocketConnect(this: PooledSocket): void {
  this[kOwner].connected(this);
}

function onSocketTimeout(this: PooledSocket): void {
  this[kOwner].connectTimedOut(this);
}

function onSocketError(this: PooledSocket, err: NodeJS.ErrnoException): void {
  // Errors of busy sockets reach the router through its ClientRequest; idle ones are followed by 'close'.
  const st = this[kState];
  if (st === CONNECTING || st === TCP_CONNECTING) this[kOwner].connectFailed(this, connectFailure(err, this[kOwner].bindAddress(this[kHost])));
}

function onSocketFree(this: PooledSocket): void {
  this[kOwner].streamDone(this);
}

function onSocketClose(this: PooledSocket): void {
  this[kOwner].socketClosed(this);
}

/** Whether an address is on loopback (a loopback source can only reach loopback destinations). */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** Opens a connection to `host` in `state` (CONNECTING or TCP_CONNECTING) with a connect timeout. */
export function dial(owner: SocketOwner, host: HostState, state: number, connectTimeoutMs: number): PooledSocket {
  const s = net.connect({ host: host.address, port: host.port, localAddress: owner.bindAddress(host) }) as PooledSocket;
  s[kHost] = host;
  s[kOwner] = owner;
  s[kState] = state;
  s[kUses] = 0;
  s[kIdleSince] = 0;
  s[kTcpCb] = undefined;
  s.setNoDelay(true);
  // Before the connect completes the socket is silent, so its inactivity timeout is a connect timeout.
  if (connectTimeoutMs > 0 && Number.isFinite(connectTimeoutMs)) {
    s.setTimeout(connectTimeoutMs);
    s.once('timeout', onSocketTimeout);
  }
  s.once('connect', onSocketConnect);
  s.on('error', onSocketError);
  s.on('close', onSocketClose);
  if (state === CONNECTING) s.on('free', onSocketFree);
  return s;
}

/** Ends the connect timeout of a socket that just connected. */
export function connectDone(s: PooledSocket): void {
  s.removeListener('timeout', onSocketTimeout);
  s.setTimeout(0);
}

/**
 * Hands a connected socket to a ClientRequest. ClientRequest calls addRequest() synchronously from
 * its constructor, so `next` set just before http.request() is the socket it gets; one agent serves
 * every pool. Being a keepAlive Agent makes node send `Connection: keep-alive` and emit 'free' on
 * the socket, instead of closing it, when an exchange is over.
 */
class HandoffAgent extends http.Agent {
  next: net.Socket | undefined;

  constructor() {
    super({ keepAlive: true, maxSockets: Infinity });
  }

  addRequest(req: http.ClientRequest): void {
    const s = this.next;
    this.next = undefined;
    (req as unknown as { onSocket(s: net.Socket | undefined): void }).onSocket(s);
  }
}

const agent = new HandoffAgent();

/** Starts an HTTP/1.1 exchange on a connected socket; throws (socket untouched) on an invalid request. */
export function exchange(s: PooledSocket, host: HostState, req: UpstreamRequest): http.ClientRequest {
  agent.next = s;
  try {
    const creq = http.request({ agent, method: req.method, path: req.path, headers: req.headers, host: host.address, port: host.port });
    (creq as { reusedSocket: boolean }).reusedSocket = s[kUses] > 1;
    return creq;
  } finally {
    agent.next = undefined;
  }
}

/** Detaches a socket from its finished ClientRequest (what node's Agent does on 'free'). */
export function detach(s: PooledSocket): void {
  (s as unknown as { _httpMessage: unknown })._httpMessage = null;
}
