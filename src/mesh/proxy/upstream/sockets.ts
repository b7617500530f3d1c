/**
 * The socket level of the pool: dialling upstream connections, their state kept on the socket under
 * symbols, and starting an HTTP/1.1 exchange (h1/client.ts) on an already connected socket.
 *
 * Every listener is a module function that reads its owner from the socket: a connection installs
 * the same five functions and a request installs none, so neither allocates closures.
 */
import net from 'node:net';
import { callOf, connectForExchanges, H1Call } from '../h1/client.ts';
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

function onSocketClose(this: PooledSocket): void {
  // The exchange in progress hears first (its response may end with the connection), then the pool.
  callOf(this)?.socketGone();
  this[kOwner].socketClosed(this);
}

/** Whether an address is on loopback (a loopback source can only reach loopback destinations). */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** Opens a connection to `host` in `state` (CONNECTING or TCP_CONNECTING) with a connect timeout. */
export function dial(owner: SocketOwner, host: HostState, state: number, connectTimeoutMs: number): PooledSocket {
  const opts = { host: host.address, port: host.port, localAddress: owner.bindAddress(host) };
  // HTTP/1.1 connections read straight into their exchanges; tunnels are piped, so they need 'data'.
  const s = (state === CONNECTING ? connectForExchanges(opts) : net.connect(opts)) as PooledSocket;
  s[kHost] = host;
  s[kOwner] = owner;
  s[kState] = state;
  s[kUses] = 0;
  s[kIdleSince] = 0;
  s[kTcpCb] = undefined;
  s.setNoDelay(true);
  // HTTP connections never hold the process open, busy or idle (node's Agent unrefs idle ones): a
  // request on one has its downstream connection or caller, which do. A ref() and unref() per
  // request were two calls into node's C++, ~1,500 instructions a request (callgrind).
  if (state === CONNECTING) s.unref();
  // Before the connect completes the socket is silent, so its inactivity timeout is a connect timeout.
  if (connectTimeoutMs > 0 && Number.isFinite(connectTimeoutMs)) {
    s.setTimeout(connectTimeoutMs);
    s.once('timeout', onSocketTimeout);
  }
  s.once('connect', onSocketConnect);
  s.on('error', onSocketError);
  s.on('close', onSocketClose);
  return s;
}

/** Ends the connect timeout of a socket that just connected. */
export function connectDone(s: PooledSocket): void {
  s.removeListener('timeout', onSocketTimeout);
  s.setTimeout(0);
}

/** An exchange is over: the connection serves again, or closes when either side ended keep-alive. */
function exchangeDone(sock: net.Socket, reusable: boolean): void {
  const s = sock as PooledSocket;
  // Closing: the pool's 'close' listener does the accounting.
  if (!reusable) s.destroy();
  else s[kOwner].streamDone(s);
}

/**
 * Starts an HTTP/1.1 exchange on a connected socket (h1/client.ts: the proxy writes and parses
 * HTTP/1.1 itself).
 */
export function exchange(s: PooledSocket, req: UpstreamRequest): H1Call {
  return new H1Call(s, req.method, req.path, req.headers, s[kUses] > 1, exchangeDone, req.headTail, req.headEnd);
}
