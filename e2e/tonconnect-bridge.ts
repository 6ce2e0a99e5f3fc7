/**
 * A loopback TON Connect HTTP bridge and a simulated wallet app, for tests (no npm package
 * provides a bridge; the official ones are Go and Rust). The bridge speaks the real protocol:
 *   GET  /bridge/events?client_id=a,b    SSE: `id:` + `data: {"from","message"}`, heartbeats
 *   POST /bridge/message?client_id=FROM&to=TO&ttl=N   base64 body (nacl box), TTL ≤ 300
 *   GET  /wallets.json                   a wallets list naming this bridge for "tonkeeper"
 * The simulated wallet opens the universal link the app shows, reads the manifest the link
 * names, and answers with a real WalletContractV5R1 account and a real signed `ton_proof`
 * (or declines), over nacl box sessions from @tonconnect/protocol.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Base64, hexToByteArray, SessionCrypto } from '@tonconnect/protocol';
import { beginCell, storeStateInit, type Address } from '@ton/core';
import { mnemonicNew, mnemonicToPrivateKey, type KeyPair } from '@ton/crypto';
import { WalletContractV5R1 } from '@ton/ton';
import { signTonProof, TON_CHAIN } from '../network/protocol/ton-proof.js';

/** The universal link the test wallet list gives "tonkeeper" (the same as the real one). */
export const TEST_UNIVERSAL_LINK = 'https://app.tonkeeper.com/ton-connect';

/** A running bridge. */
export interface TestBridge {
  /** The bridge URL (…/bridge), as wallet lists name it. */
  bridgeUrl: string;
  /** A wallets list (JSON) naming this bridge. */
  walletsListUrl: string;
  /** Messages delivered, for assertions (from, to). */
  delivered: { from: string; to: string }[];
  close(): Promise<void>;
}

/** Starts the bridge on 127.0.0.1, port 0. */
export async function startTestBridge(): Promise<TestBridge> {
  const streams = new Map<string, Set<ServerResponse>>();
  const queued = new Map<string, { id: number; data: string; expires: number }[]>();
  const delivered: { from: string; to: string }[] = [];
  let nextId = 1;
  let base = '';
  const heartbeat = setInterval(() => {
    for (const set of streams.values()) for (const res of set) res.write('event: heartbeat\ndata: heartbeat\n\n');
  }, 1000);

  const send = (res: ServerResponse, event: { id: number; data: string }) => res.write(`id: ${event.id}\ndata: ${event.data}\n\n`);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/wallets.json') {
      const entry = { app_name: 'tonkeeper', name: 'Tonkeeper', image: `${base}/tonkeeper.png`, about_url: 'https://tonkeeper.com', universal_url: TEST_UNIVERSAL_LINK, bridge: [{ type: 'sse', url: `${base}/bridge` }], platforms: ['ios', 'android', 'linux'], features: [{ name: 'SendTransaction', maxMessages: 4 }] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([entry]));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/bridge/events') {
      const ids = (url.searchParams.get('client_id') ?? '').split(',').filter(Boolean);
      if (ids.length === 0) return void res.writeHead(400).end('client_id required');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': open\n\n');
      for (const id of ids) {
        if (!streams.has(id)) streams.set(id, new Set());
        streams.get(id)?.add(res);
        const waiting = (queued.get(id) ?? []).filter((m) => m.expires > Date.now());
        queued.delete(id);
        for (const message of waiting) send(res, message);
      }
      req.on('close', () => ids.forEach((id) => streams.get(id)?.delete(res)));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/bridge/message') {
      const from = url.searchParams.get('client_id');
      const to = url.searchParams.get('to');
      const ttl = Number(url.searchParams.get('ttl') ?? '300');
      if (!from || !to || !Number.isFinite(ttl) || ttl > 300) return void res.writeHead(400).end(JSON.stringify({ message: 'bad request', statusCode: 400 }));
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const event = { id: nextId++, data: JSON.stringify({ from, message: Buffer.concat(chunks).toString('utf8') }), expires: Date.now() + ttl * 1000 };
        delivered.push({ from, to });
        const listeners = streams.get(to);
        if (listeners && listeners.size > 0) for (const stream of listeners) send(stream, event);
        else queued.set(to, [...(queued.get(to) ?? []), event]);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'OK', statusCode: 200 }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    bridgeUrl: `${base}/bridge`,
    walletsListUrl: `${base}/wallets.json`,
    delivered,
    async close() {
      clearInterval(heartbeat);
      for (const set of streams.values()) for (const res of set) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How the simulated wallet answers a connect request. */
export type WalletAnswer = 'approve' | 'decline' | { network: 'testnet' | 'mainnet' };

/** A simulated wallet app with a real V5R1 key. */
export interface SimulatedWallet {
  key: KeyPair;
  wallet: WalletContractV5R1;
  /** The non-bounceable address for a network. */
  friendly(network: 'testnet' | 'mainnet'): string;
  /** "Scans" a universal link and answers through the bridge. */
  answer(universalLink: string, bridgeUrl: string, how?: WalletAnswer): Promise<void>;
}

/** Creates a simulated wallet on a network (testnet by default). */
export async function createSimulatedWallet(network: 'testnet' | 'mainnet' = 'testnet'): Promise<SimulatedWallet> {
  const key = await mnemonicToPrivateKey(await mnemonicNew(24));
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: network === 'mainnet' ? -239 : -3 } });
  let eventId = 1;
  return {
    key,
    wallet,
    friendly: (net) => wallet.address.toString({ bounceable: false, testOnly: net === 'testnet' }),
    async answer(universalLink, bridgeUrl, how = 'approve') {
      const link = new URL(universalLink);
      const appId = link.searchParams.get('id');
      const request = JSON.parse(link.searchParams.get('r') ?? 'null') as { manifestUrl: string; items: { name: string; payload?: string }[] } | null;
      if (!appId || !request) throw new Error(`not a TON Connect link: ${universalLink}`);
      const manifest = (await (await fetch(request.manifestUrl)).json()) as { url: string };
      const session = new SessionCrypto();
      const chain = typeof how === 'object' ? TON_CHAIN[how.network] : TON_CHAIN[network];
      let event: unknown;
      if (how === 'decline') {
        event = { event: 'connect_error', id: eventId++, payload: { code: 300, message: 'User declined the connection' } };
      } else {
        const proofItem = request.items.find((item) => item.name === 'ton_proof');
        const items: unknown[] = [{ name: 'ton_addr', address: wallet.address.toRawString(), network: chain, publicKey: key.publicKey.toString('hex'), walletStateInit: beginCell().store(storeStateInit(wallet.init)).endCell().toBoc().toString('base64') }];
        if (proofItem?.payload) items.push({ name: 'ton_proof', proof: proofFor(key, wallet.address, new URL(manifest.url).host, proofItem.payload) });
        event = { event: 'connect', id: eventId++, payload: { items, device: { platform: 'linux', appName: 'Tonkeeper', appVersion: '4.0.0', maxProtocolVersion: 2, features: ['SendTransaction', { name: 'SendTransaction', maxMessages: 4 }] } } };
      }
      const body = Base64.encode(session.encrypt(JSON.stringify(event), hexToByteArray(appId)));
      const response = await fetch(`${bridgeUrl}/message?client_id=${session.sessionId}&to=${appId}&ttl=300&topic=connect`, { method: 'POST', body });
      if (!response.ok) throw new Error(`bridge refused the answer: ${response.status}`);
    },
  };
}

function proofFor(key: KeyPair, address: Address, domain: string, payload: string) {
  const timestamp = Math.floor(Date.now() / 1000);
  return { timestamp, domain: { lengthBytes: Buffer.byteLength(domain), value: domain }, payload, signature: signTonProof(key.secretKey, { address, domain, timestamp, payload }) };
}
