// The network secret's text -> key material (M8): base64 of >= 32 bytes is a key, anything else a
// passphrase that must not be weak and is stretched with scrypt; hub and peer share pskFromSecret.
import { describe, expect, it } from 'vitest';
import { derivePsk, pskFromSecret } from '../../src/crypto/psk.js';
import { classifySecret, secretKeyMaterial } from '../../src/crypto/secret.js';
import { toHex } from '../../src/util/bytes.js';

const key32 = Buffer.alloc(32, 0xab).toString('base64');

describe('classifySecret', () => {
  it.each([
    ['meshd gensecret output (44 chars of base64, 32 bytes)', key32, 'key'],
    ['base64 of 48 bytes', Buffer.from(Array.from({ length: 48 }, (_, i) => i * 37)).toString('base64'), 'key'],
    ['base64 of 16 bytes is too short for a key: a passphrase (24 chars, two kinds)', Buffer.alloc(16, 0xcd).toString('base64'), 'passphrase'],
    ['a sentence', 'correct horse battery staple', 'passphrase'],
    ['20 characters of two kinds', 'summer2024summer2024', 'passphrase'],
    ['19 characters', 'summer2024summer202', 'weak'],
    ['one kind only, however long (valid base64, but not random-looking)', 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz', 'weak'],
    ['empty', '', 'weak'],
  ])('%s', (_why, text, kind) => {
    expect(classifySecret(text).kind).toBe(kind);
  });
});

describe('pskFromSecret', () => {
  it('uses a base64 key as is (HKDF over the decoded bytes)', () => {
    expect(toHex(pskFromSecret(`${key32}\n`))).toBe(toHex(derivePsk(Buffer.from(key32, 'base64'))));
  });

  it('stretches a passphrase with scrypt (golden: both ends must derive the same psk)', () => {
    const psk = pskFromSecret('correct horse battery staple');
    expect(toHex(psk)).not.toBe(toHex(derivePsk('correct horse battery staple')));
    expect(toHex(psk)).toBe(GOLDEN_PASSPHRASE_PSK);
    expect(toHex(secretKeyMaterial('correct horse battery staple'))).toHaveLength(64);
  });

  it('refuses a weak passphrase with SECRET_WEAK', () => {
    expect(() => pskFromSecret('summer2024summer')).toThrow(expect.objectContaining({ code: 'SECRET_WEAK' }));
  });
});

/** scrypt(N=2^15, r=8, p=1, salt "meshd v1 network passphrase") then HKDF: a change is a protocol change. */
const GOLDEN_PASSPHRASE_PSK = '3fe33bfa5ff3093501e4bba4d12e760ec12b32bb10544a0fb96dc870c681d178';
