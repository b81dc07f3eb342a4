// The hub's invites and the keys they enrolled (issue 25), kept in <state-dir>/invites.json and
// written atomically (tmp + fsync + rename, O_NOFOLLOW on read: config/write-atomic.ts) before
// `meshd hub invite` prints a token and before a redemption is answered, so a kill -9 at any point
// leaves the old file or the new one, and a use is never handed out twice. Parse and text are pure.
//   {"invites": [{"id": "<hex16>", "psk": "<base64>", "name": "laptop", "created": ISO, "expires": ISO,
//     "uses": 1, "forKey": "<base64>"|null, "redeemed": [{"key": "<base64>", "at": ISO}]}]}
// "psk" is the invite psk (crypto/invite.ts invitePsk), a hash of the token's secret, never the secret.
import { join } from 'node:path';
import { readFileNoFollow, writeFileAtomic } from '../config/write-atomic.js';
import { ConfigError } from '../util/errors.js';

export interface Redemption {
  /** Key id (hex of the public key). */
  key: string;
  atMs: number;
}

export interface Invite {
  /** Hex of the 8-byte invite id. */
  id: string;
  psk: Uint8Array;
  name: string;
  createdMs: number;
  expiresMs: number;
  /** Redemptions allowed in total. */
  uses: number;
  /** Key id bound with --for-key; undefined = the first redeemers. */
  forKey?: string;
  redeemed: Redemption[];
}

export function invitesPath(stateDir: string): string {
  return join(stateDir, 'invites.json');
}

const keyRe = /^[A-Za-z0-9+/]{43}=$/;
const hexOfKey = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');
const keyOfHex = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** Pure: the file's text -> invites; throws ConfigError naming the file and the entry. */
export function parseInvites(text: string, path: string): Invite[] {
  const bad = (why: string): never => {
    throw new ConfigError('invites.json', `${path}: ${why}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  const list = (doc as { invites?: unknown } | null)?.invites;
  if (!Array.isArray(list)) return bad('expected {"invites": [...]}');
  return list.map((e: unknown, i: number): Invite => {
    const o = (e ?? {}) as Record<string, unknown>;
    const at = (why: string): never => bad(`entry ${i + 1}: ${why}`);
    if (typeof o.id !== 'string' || !/^[0-9a-f]{16}$/.test(o.id)) at('"id" must be 16 hex digits');
    if (typeof o.psk !== 'string' || !keyRe.test(o.psk)) at('"psk" must be 32 bytes of base64');
    const created = typeof o.created === 'string' ? Date.parse(o.created) : NaN;
    const expires = typeof o.expires === 'string' ? Date.parse(o.expires) : NaN;
    if (!Number.isFinite(created) || !Number.isFinite(expires)) at('"created" and "expires" must be ISO times');
    if (!Number.isInteger(o.uses) || (o.uses as number) < 1) at('"uses" must be a positive integer');
    if (o.forKey !== undefined && o.forKey !== null && (typeof o.forKey !== 'string' || !keyRe.test(o.forKey))) at('"forKey" must be a base64 public key or null');
    if (!Array.isArray(o.redeemed)) at('"redeemed" must be a list');
    const redeemed = (o.redeemed as unknown[]).map((r, j) => {
      const ro = (r ?? {}) as Record<string, unknown>;
      const t = typeof ro.at === 'string' ? Date.parse(ro.at) : NaN;
      if (typeof ro.key !== 'string' || !keyRe.test(ro.key) || !Number.isFinite(t)) at(`redemption ${j + 1} needs "key" and "at"`);
      return { key: hexOfKey(ro.key as string), atMs: t };
    });
    const inv: Invite = {
      id: o.id as string,
      psk: new Uint8Array(Buffer.from(o.psk as string, 'base64')),
      name: typeof o.name === 'string' ? o.name : '',
      createdMs: created,
      expiresMs: expires,
      uses: o.uses as number,
      redeemed,
    };
    if (typeof o.forKey === 'string') inv.forKey = hexOfKey(o.forKey);
    return inv;
  });
}

/** Pure: invites -> the file's text. */
export function invitesText(list: readonly Invite[]): string {
  const invites = list.map((v) => ({
    id: v.id,
    psk: Buffer.from(v.psk).toString('base64'),
    name: v.name,
    created: new Date(v.createdMs).toISOString(),
    expires: new Date(v.expiresMs).toISOString(),
    uses: v.uses,
    forKey: v.forKey === undefined ? null : keyOfHex(v.forKey),
    redeemed: v.redeemed.map((r) => ({ key: keyOfHex(r.key), at: new Date(r.atMs).toISOString() })),
  }));
  return `${JSON.stringify({ invites }, null, 1)}\n`;
}

/** The invites in memory, and the file behind them (absent path = memory only, for tests). Every
 * change is written before the method returns; a failed write leaves memory as it was and throws. */
export class InviteStore {
  private readonly byId = new Map<string, Invite>();
  private readonly enrolledKeys = new Map<string, string>();

  constructor(private readonly path: string | undefined) {
    const text = path === undefined ? undefined : readFileNoFollow(path);
    for (const v of text === undefined ? [] : parseInvites(text, path!)) this.index(v);
  }

  private index(v: Invite): void {
    this.byId.set(v.id, v);
    for (const r of v.redeemed) this.enrolledKeys.set(r.key, v.name);
  }

  get size(): number {
    return this.byId.size;
  }

  all(): Invite[] {
    return [...this.byId.values()];
  }

  get(id: string): Invite | undefined {
    return this.byId.get(id);
  }

  /** A key some invite enrolled (whatever happened to the invite since). */
  enrolled(keyId: string): boolean {
    return this.enrolledKeys.has(keyId);
  }

  private save(next: Invite[]): void {
    if (this.path !== undefined) writeFileAtomic(this.path, invitesText(next));
  }

  /** Records a new invite (written before it returns). */
  add(v: Invite): void {
    if (this.byId.has(v.id)) throw new RangeError('invite id collision');
    this.save([...this.byId.values(), v]);
    this.index(v);
  }

  /** Records that `keyId` used invite `id` (written before it returns). */
  redeem(id: string, keyId: string, atMs: number): void {
    const v = this.byId.get(id);
    if (!v) throw new RangeError('no such invite');
    const updated: Invite = { ...v, redeemed: [...v.redeemed, { key: keyId, atMs }] };
    this.save([...this.byId.values()].map((x) => (x.id === id ? updated : x)));
    this.index(updated);
  }
}
