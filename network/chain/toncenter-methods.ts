/**
 * The toncenter v2 API methods the local chain answers, with their parameters checked (zod).
 * The same table serves `POST /jsonRPC` and the `GET|POST /<method>` forms.
 */
import { createHash } from 'node:crypto';
import { WalletContractV3R2, WalletContractV4, WalletContractV5R1 } from '@ton/ton';
import { z } from 'zod';
import { ChainError, badRequest } from './chain-error.js';
import type { LocalChain } from './local-chain.js';
import { formatBlockId, formatStack, formatTransaction, formatTransactionId, parseAddress, parseCell, parseHash, parseStack } from './toncenter-format.js';

const uint = z.union([z.string().regex(/^\d{1,20}$/, 'must be a whole number'), z.number().int().nonnegative()]).transform((v) => BigInt(v));
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const addressOnly = z.object({ address: z.string() });
const getTransactionsParams = z.object({
  address: z.string(),
  limit: z.coerce.number().int().min(1).max(1000).default(10),
  lt: uint.optional(),
  hash: z.string().optional(),
  to_lt: uint.optional(),
  archival: flag.optional(),
});
const runGetMethodParams = z.object({
  address: z.string(),
  method: z.union([z.string().min(1).max(128), z.number().int()]),
  stack: z.unknown().optional(),
});
const bocParams = z.object({ boc: z.string().min(1) });
const estimateFeeParams = z.object({
  address: z.string(),
  body: z.string().min(1),
  init_code: z.string().default(''),
  init_data: z.string().default(''),
  ignore_chksig: flag.default(true),
});
const locateParams = z.object({ source: z.string(), destination: z.string(), created_lt: uint });

type Handler = (chain: LocalChain, params: unknown) => Promise<unknown>;

const methods: Record<string, Handler> = {
  getAddressInformation: async (chain, params) => addressInformation(chain, parseAddress(check(addressOnly, params).address)),
  getAddressBalance: async (chain, params) => (await chain.account(parseAddress(check(addressOnly, params).address))).balance.toString(),
  getAddressState: async (chain, params) => (await chain.account(parseAddress(check(addressOnly, params).address))).state,
  getWalletInformation: async (chain, params) => walletInformation(chain, parseAddress(check(addressOnly, params).address)),
  getTransactions: async (chain, params) => {
    const p = check(getTransactionsParams, params);
    if (p.hash !== undefined && p.lt === undefined) throw badRequest('hash needs lt (a transaction is named by lt and hash).');
    const query = { limit: p.limit, lt: p.lt, hash: p.hash === undefined ? undefined : parseHash(p.hash), toLt: p.to_lt };
    return chain.getTransactions(parseAddress(p.address), query).map(formatTransaction);
  },
  runGetMethod: async (chain, params) => {
    const p = check(runGetMethodParams, params);
    const address = parseAddress(p.address);
    const stack = parseStack(typeof p.stack === 'string' ? parseJson(p.stack, 'stack') : p.stack);
    const method = typeof p.method === 'string' && /^\d+$/.test(p.method) ? Number(p.method) : p.method;
    const outcome = await chain.runGetMethod(address, method, stack);
    const account = await chain.account(address);
    return {
      '@type': 'smc.runResult',
      gas_used: Number(outcome.gasUsed),
      stack: formatStack(outcome.stack),
      exit_code: outcome.exitCode,
      block_id: formatBlockId(chain.lastBlock),
      last_transaction_id: formatTransactionId(account.lastTransaction),
    };
  },
  sendBoc: async (chain, params) => {
    await chain.sendBoc(Buffer.from(check(bocParams, params).boc, 'base64'));
    return { '@type': 'ok' };
  },
  sendBocReturnHash: async (chain, params) => {
    const sent = await chain.sendBoc(Buffer.from(check(bocParams, params).boc, 'base64'));
    return { '@type': 'raw.extMessageInfo', hash: sent.hash.toString('base64'), hash_norm: sent.normalizedHash.toString('base64') };
  },
  estimateFee: async (chain, params) => {
    const p = check(estimateFeeParams, params);
    if ((p.init_code === '') !== (p.init_data === '')) throw badRequest('init_code and init_data go together: give both or neither.');
    const init = p.init_code ? { code: parseCell(p.init_code, 'init_code'), data: parseCell(p.init_data, 'init_data') } : null;
    const fees = await chain.estimateFee(parseAddress(p.address), parseCell(p.body, 'body'), init, p.ignore_chksig);
    return {
      '@type': 'query.fees',
      source_fees: { '@type': 'fees', in_fwd_fee: Number(fees.inFwdFee), storage_fee: Number(fees.storageFee), gas_fee: Number(fees.gasFee), fwd_fee: Number(fees.fwdFee) },
      destination_fees: [],
    };
  },
  getMasterchainInfo: async (chain) => {
    const last = chain.lastBlock;
    const genesis = createHash('sha256').update('silkworm-local-chain/genesis').digest();
    return {
      '@type': 'blocks.masterchainInfo',
      last: formatBlockId(last),
      state_root_hash: last.rootHash.toString('base64'),
      init: formatBlockId({ seqno: 0, rootHash: genesis, fileHash: genesis }),
    };
  },
  tryLocateResultTx: async (chain, params) => locate(chain, 'result', params),
  tryLocateTx: async (chain, params) => locate(chain, 'result', params),
  tryLocateSourceTx: async (chain, params) => locate(chain, 'source', params),
};

/** Names of the supported toncenter methods. */
export const TONCENTER_METHODS: readonly string[] = Object.keys(methods);

/** Runs one toncenter method; expected failures throw ChainError (unknown method: 404). */
export async function callToncenterMethod(chain: LocalChain, method: string, params: unknown): Promise<unknown> {
  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (!handler) throw new ChainError(404, `Unknown method '${method.slice(0, 60)}'. Supported: ${TONCENTER_METHODS.join(', ')}.`);
  return handler(chain, params ?? {});
}

function check<T>(schema: z.ZodType<T>, params: unknown): T {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`);
  throw badRequest(`Invalid params: ${problems.join('; ')}.`);
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`${field} is not valid JSON.`);
  }
}

async function addressInformation(chain: LocalChain, address: ReturnType<typeof parseAddress>): Promise<Record<string, unknown>> {
  const info = await chain.account(address);
  return {
    '@type': 'raw.fullAccountState',
    balance: info.balance.toString(),
    extra_currencies: [],
    code: info.code ? info.code.toBoc().toString('base64') : '',
    data: info.data ? info.data.toBoc().toString('base64') : '',
    last_transaction_id: formatTransactionId(info.lastTransaction),
    block_id: formatBlockId(chain.lastBlock),
    frozen_hash: info.frozenHash ? info.frozenHash.toString('base64') : '',
    sync_utime: Math.floor(Date.now() / 1000),
    state: info.state,
  };
}

let knownWallets: Map<string, string> | undefined;

/** Code hash (hex) → toncenter wallet type, for the wallets Silkworm may meet. */
function walletTypes(): Map<string, string> {
  const publicKey = Buffer.alloc(32);
  knownWallets ??= new Map([
    [WalletContractV5R1.create({ publicKey }).init.code.hash().toString('hex'), 'wallet v5 r1'],
    [WalletContractV4.create({ workchain: 0, publicKey }).init.code.hash().toString('hex'), 'wallet v4 r2'],
    [WalletContractV3R2.create({ workchain: 0, publicKey }).init.code.hash().toString('hex'), 'wallet v3 r2'],
  ]);
  return knownWallets;
}

async function walletInformation(chain: LocalChain, address: ReturnType<typeof parseAddress>): Promise<Record<string, unknown>> {
  const info = await chain.account(address);
  const walletType = info.code ? walletTypes().get(info.code.hash().toString('hex')) : undefined;
  const result: Record<string, unknown> = {
    wallet: walletType !== undefined,
    balance: info.balance.toString(),
    account_state: info.state,
    last_transaction_id: formatTransactionId(info.lastTransaction),
  };
  if (walletType === undefined) return result;
  const seqno = await chain.runGetMethod(address, 'seqno', []);
  const subwallet = await chain.runGetMethod(address, 'get_subwallet_id', []);
  const first = (outcome: typeof seqno) => (outcome.exitCode === 0 && outcome.stack[0]?.type === 'int' ? Number(outcome.stack[0].value) : undefined);
  return { ...result, wallet_type: walletType, seqno: first(seqno), wallet_id: first(subwallet) };
}

async function locate(chain: LocalChain, kind: 'result' | 'source', params: unknown): Promise<Record<string, unknown>> {
  const p = check(locateParams, params);
  return formatTransaction(chain.locate(kind, parseAddress(p.source, 'source'), parseAddress(p.destination, 'destination'), p.created_lt));
}
