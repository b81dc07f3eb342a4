// Golden bytes of every outer message, produced by src/crypto from fixed keys (test/crypto/helpers.ts:
// alice = fixedKey(1), bob = fixedKey(2), ephemerals fixedKey(3)/(4), psk of 'correct horse battery
// staple', wall clock 2024-01-01T00:00:00Z). A change here is a protocol change.
export const GOLDEN = {
  init:
    '01000000 04030201' +
    ' 57e53fec1db22e1708adc8fa76d7946104d9a5e0be62faaa1be87e77efaf5b22' +
    ' a0b359a1dcbce9f10855cbb93bffa38047a166fe75b0fe24f71efee8ceccb03d7a55ee44a2aee9b9b8a5ad774e5481d4' +
    ' f53275bcd1f22b0cb6900a22155011fd46490994a5621378cc949d95' +
    ' 0d7a71229face7b60024357d5b00f05a' +
    ' 00000000000000000000000000000000',
  resp:
    '02000000 0d0c0b0a 04030201' +
    ' ab4a93b89a41a1fb3c39a5da9fc79769e8aa555adcea2d1fea68c9896565617c' +
    ' 239e13a52ad35576aa6debae482bde16' +
    ' 754b0288595577de5650f5eaa941b61f' +
    ' 00000000000000000000000000000000',
  initiatorSendKey: '5a664d71e7ec4ff4610c0a93c8c5d34e5a2344c8d0e0d06b14a4e55264e7931f',
  initiatorRecvKey: '8ee066ff9871a17cbddcb3bb148437c708339d20c5d5d67572e442e9d6a46984',
  /** First packet from the initiator, plaintext "meshd". */
  transport: '04000000 0d0c0b0a 0000000000000000 ed2c6dbd63 44e1ee77d6f4d4e92b07e387d2170903',
  /** Stamped WALL (0x0000018cc251f400 ms), nonce 07 x 12, 24 zero bytes of padding (64 = the response). */
  hubKeyReq: '05000000 0000018cc251f400 070707070707070707070707 000000000000000000000000000000000000000000000000 ef54b659f2355e23f00e91ac633a82f6',
  hubKeyResp:
    '06000000 070707070707070707070707' +
    ' b99fe0f4c73a06edee98321e8753ab3e17d483a84b47b426f3d246fd0212920e' +
    ' cdfcd06f77e3cf79478a89350c65f99d',
  /** bob's COOKIE_REPLY to the golden init from source "udp:192.0.2.1:1000": cookie secret 05 x 32,
   * nonce 09 x 24 (test/crypto/cookie.test.ts). */
  cookie: '0c1fb7b90511a5f3442ef7c64b549da7',
  cookieReply:
    '03000000 04030201' +
    ' 090909090909090909090909090909090909090909090909' +
    ' 794302ab4b278d9277668f82c188c04061a5c67a75406c4a0b2c1a12f6b378f9',
};
