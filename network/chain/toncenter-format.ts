/**
 * Conversions between the local chain's values and toncenter v2 JSON: transactions, messages,
 * block ids, addresses and get-method stacks. `TonClient` (@ton/ton 16) validates these shapes
 * with zod and parses `data` (the transaction BOC) itself; the other fields are for humans.
 */
import { Address, Cell, beginCell, storeStateInit, type Message, type TupleItem } from '@ton/core';
import { badRequest } from './chain-error.js';
import type { BlockInfo } from './local-chain.js';
import type { ChainTransaction } from './transaction-index.js';

/** toncenter's `ton.blockIdExt`. */
export function formatBlockId(block: BlockInfo): Record<string, unknown> {
  return {
    '@type': 'ton.blockIdExt',
    workchain: -1,
    shard: '-9223372036854775808',
    seqno: block.seqno,
    root_hash: block.rootHash.toString('base64'),
    file_hash: block.fileHash.toString('base64'),
  };
}

/** toncenter's `internal.transactionId`; lt 0 and a zero hash for "none". */
export function formatTransactionId(id: { lt: bigint; hash: Buffer } | null): Record<string, unknown> {
  return { '@type': 'internal.transactionId', lt: (id?.lt ?? 0n).toString(), hash: (id?.hash ?? Buffer.alloc(32)).toString('base64') };
}

/** toncenter's `raw.transaction`. */
export function formatTransaction(record: ChainTransaction): Record<string, unknown> {
  const tx = record.transaction;
  const description = tx.description;
  const storageFee = description.type === 'generic' ? (description.storagePhase?.storageFeesCollected ?? 0n) : 0n;
  const fee = tx.totalFees.coins;
  const inMessage = tx.inMessage ? formatMessage(tx.inMessage) : undefined;
  return {
    '@type': 'raw.transaction',
    address: { '@type': 'accountAddress', account_address: record.account.toString() },
    utime: tx.now,
    data: record.boc,
    transaction_id: formatTransactionId(record),
    fee: fee.toString(),
    storage_fee: storageFee.toString(),
    other_fee: (fee - storageFee).toString(),
    ...(inMessage ? { in_msg: inMessage } : {}),
    out_msgs: tx.outMessages.values().map(formatMessage),
  };
}

/** toncenter's `raw.message`: text comments as `msg.dataText`, anything else as `msg.dataRaw`. */
export function formatMessage(message: Message): Record<string, unknown> {
  const info = message.info;
  const body = message.body;
  const text = commentOf(body);
  const base = {
    '@type': 'raw.message',
    source: info.type === 'external-in' || !info.src ? '' : info.src.toString(),
    destination: info.type === 'external-out' ? (info.dest?.toString() ?? '') : info.dest.toString(),
    value: info.type === 'internal' ? info.value.coins.toString() : '0',
    fwd_fee: info.type === 'internal' ? info.forwardFee.toString() : '0',
    ihr_fee: info.type === 'internal' ? info.ihrFee.toString() : '0',
    created_lt: info.type === 'external-in' ? '0' : info.createdLt.toString(),
    body_hash: body.hash().toString('base64'),
  };
  if (text !== null) {
    return { ...base, msg_data: { '@type': 'msg.dataText', text: Buffer.from(text, 'utf8').toString('base64') }, message: text };
  }
  const initState = message.init ? beginCell().store(storeStateInit(message.init)).endCell().toBoc().toString('base64') : '';
  return {
    ...base,
    msg_data: { '@type': 'msg.dataRaw', body: body.toBoc().toString('base64'), init_state: initState },
    message: '',
  };
}

/** The text of a comment body (op 0 + UTF-8 snake string), or null. */
function commentOf(body: Cell): string | null {
  try {
    const slice = body.beginParse();
    if (slice.remainingBits < 32 || slice.loadUint(32) !== 0) return null;
    return slice.loadStringTail();
  } catch {
    return null;
  }
}

/** Parses an address in any form toncenter accepts (raw `wc:hex` or user-friendly). */
export function parseAddress(value: unknown, field = 'address'): Address {
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`${field} is required (a TON address).`);
  try {
    return Address.parse(value.trim());
  } catch {
    throw badRequest(`${field} is not a valid TON address: '${value.slice(0, 100)}'.`);
  }
}

/** Parses a 32-byte hash given as hex (what TonClient sends) or base64 / base64url (what toncenter returns). */
export function parseHash(value: string, field = 'hash'): Buffer {
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : null;
  if (!bytes || bytes.length !== 32) throw badRequest(`${field} must be a 32-byte hash in hex or base64.`);
  return bytes;
}

/** Parses a base64 BOC holding one cell. */
export function parseCell(value: string, field: string): Cell {
  try {
    const roots = Cell.fromBoc(Buffer.from(value, 'base64'));
    if (roots.length === 1 && roots[0]) return roots[0];
  } catch {
    // reported below
  }
  throw badRequest(`${field} is not a base64 BOC with one root cell.`);
}

/** Parses a get-method argument stack: `[["num", "5"], ["tvm.Cell", base64], ...]`. */
export function parseStack(value: unknown): TupleItem[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('stack must be an array of [type, value] pairs.');
  return value.map((entry: unknown, i): TupleItem => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw badRequest(`stack[${i}] must be a [type, value] pair.`);
    const [type, raw] = entry as [string, unknown];
    if (type === 'num' || type === 'number' || type === 'int') return { type: 'int', value: parseInteger(raw, `stack[${i}]`) };
    if (type === 'null') return { type: 'null' };
    const bytes = typeof raw === 'string' ? raw : typeof raw === 'object' && raw !== null && 'bytes' in raw ? (raw as { bytes: unknown }).bytes : undefined;
    const kind = type.replace(/^tvm\./, '').toLowerCase();
    if (typeof bytes === 'string' && (kind === 'cell' || kind === 'slice' || kind === 'builder')) {
      return { type: kind, cell: parseCell(bytes, `stack[${i}]`) };
    }
    throw badRequest(`stack[${i}] has an unsupported type '${type.slice(0, 40)}' (use num, tvm.Cell, tvm.Slice, tvm.Builder or null).`);
  });
}

function parseInteger(raw: unknown, field: string): bigint {
  const text = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof text !== 'string' || !/^-?(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw badRequest(`${field} must be a decimal or 0x-hex integer.`);
  return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
}

/** Formats a get-method result stack the way toncenter does (numbers as hex). */
export function formatStack(items: readonly TupleItem[]): unknown[] {
  return items.map((item): unknown[] => {
    switch (item.type) {
      case 'int':
        return ['num', item.value < 0n ? `-0x${(-item.value).toString(16)}` : `0x${item.value.toString(16)}`];
      case 'null':
        return ['null', null];
      case 'nan':
        return ['num', 'NaN'];
      case 'cell':
      case 'slice':
      case 'builder':
        return [item.type, { bytes: item.cell.toBoc().toString('base64') }];
      case 'tuple':
        return ['tuple', { '@type': 'tvm.tuple', elements: item.items.map(formatStackEntry) }];
    }
  });
}

/** The nested `tvm.stackEntry*` form toncenter uses inside tuples. */
function formatStackEntry(item: TupleItem): unknown {
  switch (item.type) {
    case 'int':
      return { '@type': 'tvm.stackEntryNumber', number: { '@type': 'tvm.numberDecimal', number: item.value.toString() } };
    case 'cell':
    case 'builder':
      return { '@type': 'tvm.stackEntryCell', cell: { '@type': 'tvm.cell', bytes: item.cell.toBoc().toString('base64') } };
    case 'slice':
      return { '@type': 'tvm.stackEntrySlice', slice: { '@type': 'tvm.slice', bytes: item.cell.toBoc().toString('base64') } };
    case 'tuple':
      return { '@type': 'tvm.stackEntryTuple', tuple: { '@type': 'tvm.tuple', elements: item.items.map(formatStackEntry) } };
    case 'null':
    case 'nan':
      // TonClient has no reader for a null entry inside a tuple; an empty list is the closest it parses.
      return { '@type': 'tvm.stackEntryList', list: { '@type': 'tvm.list', elements: [] } };
  }
}
