import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { RpcError } from './engine.js';
import type { RpcMethods } from './rpc.js';
import { signatureOfParams } from './sigparam.js';

/**
 * What a fault hook may ask for, per JSON-RPC call:
 * - 'drop'  sendTransaction/requestAirdrop: answer with the signature but never execute it (a node
 *           that accepted the tx and lost it). Any other method: reset the connection, no answer.
 * - 'error' HTTP 503 with a JSON-RPC error body (node unhealthy).
 * - 'hang'  never answer; the socket is destroyed when the ledger stops.
 */
export type FaultAction = 'drop' | 'error' | 'hang' | undefined;
export type FaultFn = (method: string, params: unknown[]) => FaultAction;

interface Req {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

const MAX_BODY = 8 * 1024 * 1024;

export interface RpcServer {
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
  setFault(fn: FaultFn | null): void;
}

export function createRpcServer(methods: RpcMethods, logger: Logger, hooks: { afterCall?: (method: string) => void }): RpcServer {
  let fault: FaultFn | null = null;
  let server: Server | null = null;

  /** Returns the response object, or a fault action that overrides the whole HTTP exchange. */
  const call = (req: Req): { res: unknown } | { action: 'error' | 'hang' | 'reset' } => {
    const id = req.id ?? null;
    if (typeof req.method !== 'string') return { res: { jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid request' } } };
    const method = req.method;
    const params = Array.isArray(req.params) ? req.params : req.params === undefined ? [] : [req.params];
    const f = fault?.(method, params);
    if (f === 'error' || f === 'hang') return { action: f };
    if (f === 'drop') {
      const sig = method === 'sendTransaction' || method === 'requestAirdrop' ? signatureOfParams(method, params) : null;
      if (!sig) return { action: 'reset' };
      return { res: { jsonrpc: '2.0', id, result: sig } };
    }
    const fn = methods[method];
    if (!fn) return { res: { jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } } };
    try {
      const result = fn(params);
      hooks.afterCall?.(method);
      return { res: { jsonrpc: '2.0', id, result } };
    } catch (e) {
      if (e instanceof RpcError) {
        const error = e.data === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, data: e.data };
        return { res: { jsonrpc: '2.0', id, error } };
      }
      logger.error({ err: e, method }, 'rpc method crashed');
      return { res: { jsonrpc: '2.0', id, error: { code: -32603, message: 'Internal error' } } };
    }
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const batch = Array.isArray(parsed);
    const reqs = (batch ? parsed : [parsed]) as Req[];
    const out: unknown[] = [];
    for (const r of reqs) {
      const c = call(r ?? {});
      if ('action' in c) {
        if (c.action === 'hang') return; // left open until stop() destroys the socket
        if (c.action === 'reset') return req.socket.destroy();
        return send(res, 503, { jsonrpc: '2.0', id: r?.id ?? null, error: { code: -32005, message: 'Node is unhealthy (injected fault)' } });
      }
      out.push(c.res);
    }
    send(res, 200, batch ? out : out[0]);
  };

  return {
    setFault(fn) {
      fault = fn;
    },
    async listen(host, port) {
      server = createServer((req, res) => {
        if (req.method !== 'POST') return send(res, 405, { error: 'JSON-RPC over POST only' });
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy();
          else chunks.push(c);
        });
        req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
      });
      server.keepAliveTimeout = 20_000; // longer than web3.js's 19 s idle-socket timeout
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      const a = server.address() as AddressInfo;
      return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    },
    async close() {
      const s = server;
      server = null;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections(); // also ends 'hang' requests, which would otherwise block close()
      await closed;
    },
  };
}
